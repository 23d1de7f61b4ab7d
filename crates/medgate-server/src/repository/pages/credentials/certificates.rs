//! Registering uploaded certificates (which activates a new account) and issuing new ones
//! from the node's tenant CA.

use super::*;

/// `POST /admin/account/certificates`: registers uploaded certificates (activates a new
/// account).
pub(super) async fn register_certificates(
    State(state): State<AppState>,
    SignedIn(admin): SignedIn<Admin>,
    request: WebRequest,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let outcome = async {
        let upload = genuine_upload(&request, &admin, multipart).await?;
        let lang = request.lang;
        let activating = match admin.tenant.status {
            TenantStatus::Created => true,
            TenantStatus::Active => false,
            TenantStatus::Suspended => {
                return view(
                    &state,
                    &admin,
                    &request,
                    Filled::default(),
                    StatusCode::FORBIDDEN,
                )
                .await
            }
        };
        let mut filled = Filled {
            provider_oid: upload.form.text("provider_oid").to_owned(),
            ..Filled::default()
        };
        let provider_oid = if activating {
            match Oid::parse(&filled.provider_oid) {
                Ok(oid) => Some(oid),
                Err(error) => {
                    let text = if filled.provider_oid.is_empty() {
                        T::Required.text(lang).to_owned()
                    } else if lang == Lang::Pl {
                        T::BadProviderOid.text(lang).to_owned()
                    } else {
                        error.to_string()
                    };
                    filled.errors.insert("provider_oid", text);
                    None
                }
            }
        } else {
            None
        };
        let mut checked = Vec::new();
        for (kind, file_field, password_field) in [
            (CertKind::Tls, "tls_file", "tls_password"),
            (CertKind::Wss, "wss_file", "wss_password"),
        ] {
            let Some(file) = upload.file(file_field) else {
                if activating {
                    filled
                        .errors
                        .insert(file_field, T::Required.text(lang).to_owned());
                }
                continue;
            };
            let (bytes, file_name) = (file.bytes.clone(), file.file_name.clone());
            let password_text = upload.form.raw(password_field).to_owned();
            let read = tokio::task::spawn_blocking(move || {
                uploaded_certificate(&UploadedFile { file_name, bytes }, &password_text, lang)
            })
            .await
            .map_err(|e| ApiError::internal("reading an uploaded certificate", &e))?;
            let certificate = match read {
                Ok(certificate) => certificate,
                Err(text) => {
                    let field = if text == T::WrongKeystorePassword.text(lang)
                        || text == T::KeystorePasswordNeeded.text(lang)
                    {
                        password_field
                    } else {
                        file_field
                    };
                    filled.errors.insert(field, text);
                    continue;
                }
            };
            match checked_certificate(
                &issuer(&state),
                &kind.to_string(),
                &certificate,
                admin.tenant_id(),
                kind,
            ) {
                Ok(new) => checked.push(new),
                Err(error) => {
                    let text = certificate_refusal(lang, error.code(), &error.to_string());
                    filled.errors.insert(file_field, text);
                }
            }
        }
        if checked.is_empty() && filled.errors.is_empty() {
            filled
                .errors
                .insert("certificates", T::NoCertificateChosen.text(lang).to_owned());
        }
        if !filled.errors.is_empty() {
            return view(&state, &admin, &request, filled, StatusCode::BAD_REQUEST).await;
        }
        let caller = admin.caller(&request);
        let outcome = match provider_oid {
            Some(provider_oid) => {
                let mut parts = checked.into_iter();
                let (Some(tls), Some(wss)) = (parts.next(), parts.next()) else {
                    return Err(ApiError::internal(
                        "activation",
                        &"two certificates were checked",
                    ).into());
                };
                let activation = Activation {
                    provider_oid,
                    tls,
                    wss,
                };
                activate(&domain(&state), &state.node.oid_root, &caller.actor(), activation)
                    .await
                    .map(|_| "activated")
            }
            None => register_checked(&domain(&state), &caller.actor(), &checked)
                .await
                .map(|()| "registered"),
        }
        .map_err(refused);
        match outcome {
            Ok(done) => Ok(redirect(&format!("{PAGE}?done={done}"), &[])),
            Err(error) if error.status() != StatusCode::INTERNAL_SERVER_ERROR => {
                let text = certificate_refusal(lang, error.code(), error.message());
                let filled = Filled::refuse("certificates", text);
                view(&state, &admin, &request, filled, error.status()).await
            }
            Err(error) => Err(error.into()),
        }
    }
    .await;
    respond(&ADMIN, &request, outcome)
}

/// Two fresh key pairs, their certificates from the tenant CA, each packed in a PKCS#12
/// encrypted with `password`, in a ZIP with the CA certificate and a README. Runs key
/// generation and PBKDF2: call off the request threads.
pub(super) fn issue_keystores(
    state: &AppState,
    tenant: &medgate_ids::TenantId,
    subject: &SubjectFields,
    algorithm: KeyAlgorithm,
    password: &Password,
) -> Result<(Vec<u8>, Vec<Certificate>), ApiError> {
    let ca_certificate = state.ca.certificate().clone();
    let mut entries = Vec::new();
    let mut issued = Vec::new();
    let mut readme = format!(
        "Certificates of medgate account {tenant}, issued {now} by {ca}.\n\n",
        now = second(OffsetDateTime::now_utc()),
        ca = ca_certificate
            .summary()
            .map(|s| s.subject)
            .unwrap_or_default(),
    );
    for kind in [CertKind::Tls, CertKind::Wss] {
        let (key, csr) = generate_tenant_csr(tenant, kind, subject, algorithm)
            .map_err(|e| ApiError::internal("generating a key", &e))?;
        let validity =
            Validity::days_from_now(ISSUED_DAYS).map_err(|e| ApiError::internal("validity", &e))?;
        let certificate = state
            .ca
            .sign_csr(csr.as_bytes(), FsPath::new("generated request"), validity)
            .map_err(|e| ApiError::internal("issuing a certificate", &e))?;
        let p12 = write_pkcs12(
            &certificate,
            std::slice::from_ref(&ca_certificate),
            &key,
            password,
            &Pkcs12Options::default(),
        )
        .map_err(|e| ApiError::internal("writing a keystore", &e))?;
        let summary = certificate
            .summary()
            .map_err(|e| ApiError::internal("issued certificate", &e))?;
        let file = format!("{tenant}-{}.p12", kind.to_string().to_ascii_lowercase());
        readme.push_str(&format!(
            "{file}: {kind} certificate {subject}, serial {serial}, valid {from} to {to}, with its private key.\n",
            subject = summary.subject,
            serial = summary.serial_hex,
            from = second(summary.not_before),
            to = second(summary.not_after),
        ));
        entries.push((file, p12));
        issued.push(certificate);
    }
    readme.push_str(
        "ca.pem: the node's tenant CA certificate (trust it for the server).\n\n\
         Both keystores are encrypted with the password given when they were issued (AES-256-CBC,\n\
         PBKDF2-SHA256). Keep them safe: medgate did not keep the private keys and cannot issue\n\
         these files again. To use them with the medgate client:\n\n\
         \x20 medgate pki unpack TENANT-tls.p12 --password-file PASSWORD --out tls\n\
         \x20 medgate pki unpack TENANT-wss.p12 --password-file PASSWORD --out wss\n\n\
         Import TENANT-tls.p12 into a browser to present the TLS certificate to the node.\n",
    );
    entries.push(("ca.pem".to_owned(), ca_certificate.to_pem().into_bytes()));
    entries.push((
        "README.txt".to_owned(),
        readme.replace("TENANT", tenant.as_str()).into_bytes(),
    ));
    let zip = zip_entries(&entries, zip_time(OffsetDateTime::now_utc()))
        .map_err(|e| ApiError::internal("writing the ZIP", &e))?;
    Ok((zip, issued))
}

/// `POST /admin/account/certificates/issue`: new certificates as a ZIP of PKCS#12 files.
pub(super) async fn issue(
    State(state): State<AppState>,
    SignedIn(admin): SignedIn<Admin>,
    request: WebRequest,
    body: Bytes,
) -> Response {
    let outcome = async {
        let lang = request.lang;
        let form = admin.genuine_form(&request, &body)?;
        let enabled = state
            .metadata
            .csr_self_service(admin.tenant_id())
            .await
            .map_err(|e| ApiError::internal("reading CSR self-service", &e))?;
        if !enabled || admin.tenant.status == TenantStatus::Suspended {
            return view(
                &state,
                &admin,
                &request,
                Filled::default(),
                StatusCode::FORBIDDEN,
            )
            .await;
        }
        let mut filled = Filled {
            organisation: Some(form.text("organisation").to_owned()),
            country: Some(form.text("country").to_owned()),
            ..Filled::default()
        };
        let country = Country::parse(form.text("country"))
            .map_err(|e| filled.errors.insert("country", e.to_string()))
            .ok();
        let subject = country.and_then(|country| {
            SubjectFields::new(form.text("organisation"), "medgate", country)
                .map_err(|e| filled.errors.insert("organisation", e.to_string()))
                .ok()
        });
        let algorithm = match form.text("algorithm") {
            "rsa3072" => KeyAlgorithm::Rsa3072,
            "p256" => KeyAlgorithm::EcdsaP256,
            _ => KeyAlgorithm::Rsa2048,
        };
        let (typed, repeated) = (form.raw("password"), form.raw("password_repeat"));
        if let Err(problem) = password::check_rules(typed, repeated, &[admin.tenant_id().as_str()])
        {
            let (field, text) = match problem {
                PasswordProblem::TooShort => (
                    "password",
                    T::PasswordTooShort.with(lang, "min", &password::MIN_LENGTH.to_string()),
                ),
                PasswordProblem::Mismatch => {
                    ("password_repeat", T::PasswordMismatch.text(lang).to_owned())
                }
                other => ("password", medgate_web::staff::describe(other)),
            };
            filled.errors.insert(field, text);
        }
        let register_now =
            form.text("register_now") == "1" && admin.tenant.status == TenantStatus::Active;
        let Some(subject) = subject.filter(|_| filled.errors.is_empty()) else {
            return view(&state, &admin, &request, filled, StatusCode::BAD_REQUEST).await;
        };
        let keystore_password = Password::new(typed.to_owned());
        let tenant = admin.tenant_id().clone();
        let worker_state = state.clone();
        let (zip, issued) = tokio::task::spawn_blocking(move || {
            issue_keystores(
                &worker_state,
                &tenant,
                &subject,
                algorithm,
                &keystore_password,
            )
        })
        .await
        .map_err(|e| ApiError::internal("issuing certificates", &e))??;
        let mut new = Vec::new();
        for (certificate, kind) in issued.iter().zip([CertKind::Tls, CertKind::Wss]) {
            let checked = checked_certificate(
                &issuer(&state),
                &kind.to_string(),
                certificate,
                admin.tenant_id(),
                kind,
            )
            .map_err(refused)?;
            new.push(checked);
        }
        let caller = admin.caller(&request);
        certificates_issued(&domain(&state), &caller.actor(), &new, register_now)
            .await
            .map_err(refused)?;
        Ok(download(
            "application/zip",
            &format!("{}-certificates.zip", admin.tenant_id()),
            Bytes::from(zip),
        ))
    }
    .await;
    respond(&ADMIN, &request, outcome)
}

/// A refused certificate in the page's language: the domain's sentence is the API's
/// (English, naming the field and the rule); the Polish page says the same in Polish for the
/// refusals a clinic meets, and shows the API's sentence for the rest.
pub(super) fn certificate_refusal(lang: Lang, code: &str, message: &str) -> String {
    if lang == Lang::En {
        return message.to_owned();
    }
    let polish = match code {
        "bad_certificate" => T::RefusedBadCertificate,
        "wrong_certificate_kind" => T::RefusedCertificateKind,
        "wrong_tenant_certificate" => T::RefusedCertificateTenant,
        "certificate_not_from_tenant_ca" => T::RefusedCertificateIssuer,
        "certificate_revoked" => T::RefusedCertificateRevoked,
        "certificate_expired" => T::RefusedCertificateExpired,
        "certificate_not_yet_valid" => T::RefusedCertificateNotYetValid,
        "certificate_in_use" => T::RefusedCertificateInUse,
        _ => return message.to_owned(),
    };
    polish.text(lang).to_owned()
}

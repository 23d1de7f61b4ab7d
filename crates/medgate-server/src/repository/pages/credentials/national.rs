//! The national registry credentials: registering the keystores and revoking them.

use super::*;

/// `POST /admin/account/national`: registers with the national registry.
pub(super) async fn register_national_certificates(
    State(state): State<AppState>,
    SignedIn(admin): SignedIn<Admin>,
    request: WebRequest,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let outcome = async {
        let upload = genuine_upload(&request, &admin, multipart).await?;
        let lang = request.lang;
        admin.require_usable(&request)?;
        let mut filled = Filled {
            national_name: upload.form.text("national_name").to_owned(),
            ..Filled::default()
        };
        for field in ["national_tls", "national_wss"] {
            if upload.file(field).is_none() {
                filled
                    .errors
                    .insert(field, T::Required.text(lang).to_owned());
            }
        }
        let password_text = upload.form.raw("national_password");
        if password_text.is_empty() {
            filled
                .errors
                .insert("national_password", T::Required.text(lang).to_owned());
        }
        let (Some(tls), Some(wss)) = (upload.file("national_tls"), upload.file("national_wss"))
        else {
            return view(&state, &admin, &request, filled, StatusCode::BAD_REQUEST).await;
        };
        if !filled.errors.is_empty() {
            return view(&state, &admin, &request, filled, StatusCode::BAD_REQUEST).await;
        }
        let caller = admin.caller(&request);
        let registered = register_keystores(
            &domain(&state),
            &national(&state),
            &caller.actor(),
            tls.bytes.clone(),
            wss.bytes.clone(),
            Password::new(password_text.to_owned()),
            Some(filled.national_name.clone()),
        )
        .await
        .map_err(refused);
        match registered {
            Ok(_) => Ok(redirect(&format!("{PAGE}?done=national"), &[])),
            Err(error) if error.status() != StatusCode::INTERNAL_SERVER_ERROR => {
                let field = match error.code() {
                    "wrong_p12_password" => "national_password",
                    _ if error.message().starts_with("tls_p12") => "national_tls",
                    _ if error.message().starts_with("wss_p12") => "national_wss",
                    _ => "national",
                };
                // The API's message names the API's field; the page names its own.
                let text = match error.code() {
                    "wrong_p12_password" => T::WrongKeystorePassword.text(lang).to_owned(),
                    _ => error
                        .message()
                        .trim_start_matches("tls_p12: ")
                        .trim_start_matches("wss_p12: ")
                        .to_owned(),
                };
                filled.errors.insert(field, text);
                view(&state, &admin, &request, filled, error.status()).await
            }
            Err(error) => Err(error.into()),
        }
    }
    .await;
    respond(&ADMIN, &request, outcome)
}

/// `GET /admin/account/national/revoke`: the confirmation page.
pub(super) async fn confirm_revoke(
    State(state): State<AppState>,
    SignedIn(admin): SignedIn<Admin>,
    request: WebRequest,
) -> Response {
    let outcome = async {
        let lang = request.lang;
        let stored = state
            .metadata
            .national_credentials(admin.tenant_id())
            .await
            .map_err(|e| ApiError::internal("reading national credentials", &e))?;
        let Some(stored) = stored else {
            return Ok(redirect(PAGE, &[]));
        };
        let mut frame = admin.frame(&request, T::RevokeNationalCertificates.text(lang));
        frame.body = format!(
            "{warning}<p>{what}</p><div class=\"actions\">{button}<a class=\"button\" href=\"{PAGE}\">{cancel}</a></div>",
            warning = message(MessageKind::Error, T::RevokeNationalWarning.text(lang)),
            what = escape(&T::NationalRepositoryLine.with(lang, "id", stored.national_repository_id.as_str())),
            button = button_form(NATIONAL_REVOKE, &admin.staff.session.csrf_secret, "danger", T::RevokeNationalCertificates.text(lang)),
            cancel = escape(T::Cancel.text(lang)),
        );
        Ok(frame.into_response())
    }
    .await;
    respond(&ADMIN, &request, outcome)
}

/// `POST /admin/account/national/revoke`: deregisters and removes the national credentials.
pub(super) async fn revoke(
    State(state): State<AppState>,
    SignedIn(admin): SignedIn<Admin>,
    request: WebRequest,
    body: Bytes,
) -> Response {
    let outcome = async {
        admin.genuine_form(&request, &body)?;
        admin.require_usable(&request)?;
        let caller = admin.caller(&request);
        match withdraw(&domain(&state), &national(&state), &caller.actor())
            .await
            .map_err(refused)
        {
            Ok(_) => Ok(redirect(&format!("{PAGE}?done=national-revoked"), &[])),
            Err(error) if error.status() != StatusCode::INTERNAL_SERVER_ERROR => {
                let filled = Filled {
                    banner: message(MessageKind::Error, error.message()),
                    ..Filled::default()
                };
                view(&state, &admin, &request, filled, error.status()).await
            }
            Err(error) => Err(error.into()),
        }
    }
    .await;
    respond(&ADMIN, &request, outcome)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A test that meets an unexpected value fails by panicking.
mod tests {
    use super::*;

    #[test]
    fn a_certificate_file_or_a_keystore_is_read_and_a_wrong_password_named() {
        let dir = tempfile::tempdir().unwrap();
        let ca = medgate_pki::ca::CertificateAuthority::init(
            dir.path(),
            "Test CA",
            KeyAlgorithm::EcdsaP256,
            Validity::days_from_now(30).unwrap(),
            None,
        )
        .unwrap();
        let tenant = medgate_ids::TenantId::parse("1234567890123456").unwrap();
        let subject = SubjectFields::new("Clinic", "IT", Country::parse("PL").unwrap()).unwrap();
        let (key, csr) =
            generate_tenant_csr(&tenant, CertKind::Tls, &subject, KeyAlgorithm::EcdsaP256).unwrap();
        let certificate = ca
            .sign_csr(
                csr.as_bytes(),
                FsPath::new("tls.csr"),
                Validity::days_from_now(10).unwrap(),
            )
            .unwrap();
        let password = Password::new("keystore password 1".to_owned());
        let p12 = write_pkcs12(
            &certificate,
            &[],
            &key,
            &password,
            &Pkcs12Options::default(),
        )
        .unwrap();
        let file = |bytes: Vec<u8>| UploadedFile {
            file_name: "tls.p12".into(),
            bytes,
        };
        let read =
            uploaded_certificate(&file(p12.clone()), "keystore password 1", Lang::En).unwrap();
        assert_eq!(read.der(), certificate.der());
        assert_eq!(
            uploaded_certificate(&file(p12.clone()), "wrong", Lang::En).unwrap_err(),
            T::WrongKeystorePassword.text(Lang::En)
        );
        assert_eq!(
            uploaded_certificate(&file(p12), "", Lang::En).unwrap_err(),
            T::KeystorePasswordNeeded.text(Lang::En)
        );
        let pem =
            uploaded_certificate(&file(certificate.to_pem().into_bytes()), "", Lang::En).unwrap();
        assert_eq!(pem.der(), certificate.der());
        let der = uploaded_certificate(&file(certificate.der().to_vec()), "", Lang::En).unwrap();
        assert_eq!(der.der(), certificate.der());
        let garbage =
            uploaded_certificate(&file(b"not a certificate".to_vec()), "", Lang::En).unwrap_err();
        assert!(garbage.contains("tls.p12"), "{garbage}");
    }
}

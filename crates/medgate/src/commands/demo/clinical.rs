//! The demo's Hungarian clinical record service: one institution, its unit and practitioner,
//! the operator's login, a patient with a document, a profile entry and an activated portal
//! account, and clinic A's account connected to the service on its administrator's own
//! settings page.

use std::path::Path;

use anyhow::{bail, Context};
use medgate_ids::TenantId;
use medgate_pki::ca::CertificateAuthority;
use medgate_storage::{Metadata, StaffScope};
use medgate_web::staff::{self as staff_accounts, FirstCredential};

use super::web::{activate_on_portal, form_token, Web};
use super::{random_secret, DemoState, Setup, CLINICS, OPERATOR_LOGIN};

/// The clinical record service's institution, unit and practitioner in the demo; clinic A's
/// account acts for the institution.
const INSTITUTION: &str = "506097";
const INSTITUTION_NAME: &str = "Mosoly Fogászat Kft.";
const UNIT: &str = "001044299";
pub(super) const PRACTITIONER: &str = "dr.kovacs";
/// The clinical record service's patient (a valid TAJ) and their first document.
pub(super) const CLINICAL_PATIENT: &str = "123456788";
const CLINICAL_PATIENT_NAME: &str = "Kiss Anna";
const CLINICAL_DOCUMENT: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ClinicalDocument xmlns=\"urn:hl7-org:v3\"><title>Ambuláns lap – fogászati kontroll</title><component><structuredBody><component><section><title>Lelet</title><text>Fogkő eltávolítva; kontroll fél év múlva.</text></section></component></structuredBody></component></ClinicalDocument>\n";
const PRACTITIONER_NAME: &str = "Dr. Kovács Anna";
const STAMP_NUMBER: &str = "58012";

/// The clinical record service as the block names it.
pub(super) struct Clinical<'a> {
    pub url: &'a str,
    pub ca: &'a Path,
}

/// The demo's operator acting on the clinical record service (as the command line does).
fn demo_operator() -> medgate_clinical::admin::Operator {
    medgate_clinical::admin::Operator {
        name: "cli".to_owned(),
        origin: medgate_storage::AuditOrigin::Cli,
    }
}

/// The clinical record service's institution, unit, practitioner (their TOTP URI kept in
/// `state`), matrix line and operator login, each unless it is there already.
pub(super) async fn clinical_service(
    service: &Metadata,
    state: &mut DemoState,
) -> anyhow::Result<()> {
    use medgate_clinical::admin;
    let operator = demo_operator();
    let now = medgate_web::now();
    let institution = medgate_ids::InstitutionId::parse(INSTITUTION)?;
    if service.clinical_institution(&institution).await?.is_none() {
        admin::register_institution(service, &operator, INSTITUTION, INSTITUTION_NAME, now).await?;
        admin::add_unit(service, &operator, INSTITUTION, UNIT, "Fogászati rendelő").await?;
    }
    if service.clinical_practitioner(PRACTITIONER).await?.is_none()
        || state.practitioner_totp.is_empty()
    {
        if service.clinical_practitioner(PRACTITIONER).await?.is_some() {
            bail!("the clinical service's practitioner {PRACTITIONER} exists but the demo's file lost their TOTP secret; start the demo on a new folder");
        }
        let registered = admin::register_practitioner(
            service,
            &operator,
            PRACTITIONER,
            PRACTITIONER_NAME,
            STAMP_NUMBER,
            &state.practitioner_password,
            now,
        )
        .await?;
        state.practitioner_totp = registered.otpauth_uri();
    }
    if service
        .clinical_authorisations(PRACTITIONER, &institution)
        .await?
        .is_empty()
    {
        admin::grant(
            service,
            &operator,
            PRACTITIONER,
            INSTITUTION,
            None,
            "doctor",
        )
        .await?;
    }
    let operators = service.list_staff_users(&StaffScope::Operator).await?;
    if !operators
        .iter()
        .any(|user| user.login.as_str() == OPERATOR_LOGIN)
    {
        staff_accounts::create(
            service,
            StaffScope::Operator,
            OPERATOR_LOGIN,
            FirstCredential::Password(state.operator_password.clone()),
            "cli",
        )
        .await?;
    }
    Ok(())
}

/// The clinical record service's patient: a document and a profile entry written by the
/// institution's practitioner (as the FHIR API writes them), and the patient's portal
/// account, activated on `/portal/activate` with the operator's one-time code. Done once.
pub(super) async fn clinical_patient(
    service: &Metadata,
    url: &str,
    ca: &Path,
    state: &DemoState,
) -> anyhow::Result<()> {
    let taj = medgate_ids::Taj::parse(CLINICAL_PATIENT)?;
    if service.clinical_patient_account(&taj).await?.is_some() {
        return Ok(());
    }
    let now = medgate_web::now();
    let practitioner = medgate_clinical::Caller {
        user_name: PRACTITIONER.to_owned(),
        institution: medgate_ids::InstitutionId::parse(INSTITUTION)?,
        origin: medgate_storage::AuditOrigin::Cli,
    };
    let document = medgate_clinical::documents::NewDocument {
        patient: taj.clone(),
        encounter: None,
        content_type: "application/hl7-v3+xml".to_owned(),
        title: "Ambuláns lap – fogászati kontroll".to_owned(),
        data: CLINICAL_DOCUMENT.as_bytes().to_vec(),
        fhir_base_url: format!("{url}/fhir"),
        identifier: None,
    };
    medgate_clinical::documents::submit(service, &practitioner, &document, now).await?;
    let condition = serde_json::json!({
        "resourceType": "Condition",
        "clinicalStatus": { "coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"
        }]},
        "code": { "text": "Fogágybetegség (parodontitis)" },
        "subject": { "reference": format!("Patient/{CLINICAL_PATIENT}") }
    });
    medgate_clinical::resources::create(
        service,
        &practitioner,
        medgate_clinical::ResourceType::Condition,
        condition,
        now,
    )
    .await?;
    let account = medgate_clinical::accounts::create_patient_account(
        service,
        &demo_operator(),
        CLINICAL_PATIENT,
        CLINICAL_PATIENT_NAME,
        now,
    )
    .await?;
    let password = state.clinical_patient_password.as_str();
    activate_on_portal(
        url,
        ca,
        &[
            ("taj", CLINICAL_PATIENT),
            ("code", &account.activation_code),
            ("password", password),
            ("password2", password),
        ],
    )
    .await
    .context("activating the clinical portal's patient")
}

impl Setup<'_> {
    /// Clinic A's account connected to the clinical record service as the institution, on
    /// the administrator's settings page (`/admin/clinical-service`): a certificate issued
    /// to the institution by the service's CA (as `medgate clinical certificate issue`), its
    /// PKCS#12 and one-time code posted with the service's address and CA, as a browser
    /// posts the form. Done once: a connected account is left as it is.
    pub(super) async fn connect_clinic(
        &self,
        service: &Metadata,
        service_ca: &CertificateAuthority,
        service_url: &str,
        service_ca_file: &Path,
    ) -> anyhow::Result<()> {
        let clinic = &CLINICS[0];
        let tenant = TenantId::parse(clinic.tenant)?;
        if self.metadata.clinical_connection(&tenant).await?.is_some() {
            return Ok(());
        }
        let code = random_secret()?;
        let issued = medgate_clinical::admin::issue_certificate(
            service,
            &demo_operator(),
            service_ca,
            INSTITUTION,
            365,
            &code,
            medgate_web::now(),
        )
        .await?;
        let ca_pem = std::fs::read(service_ca_file)
            .with_context(|| format!("{}: cannot be read", service_ca_file.display()))?;
        let web = Web::new(
            self.repository_url,
            &self.dir.join("repository").join("ca").join("ca.pem"),
        )?;
        web.submit(
            "/admin",
            &[
                ("tenant", clinic.tenant),
                ("login", clinic.admin_login),
                ("password", &self.state.admin_passwords[0]),
            ],
        )
        .await?;
        let page = web.get("/admin/clinical-service").await?;
        let token =
            form_token(&page).context("no form token on the clinical service settings page")?;
        let practitioners = format!("{PRACTITIONER_NAME}; {STAMP_NUMBER}; {PRACTITIONER}");
        web.post_multipart(
            "/admin/clinical-service",
            &[
                ("csrf", &token),
                ("service_url", service_url),
                ("code", &code),
                ("institution", INSTITUTION),
                ("institution_name", INSTITUTION_NAME),
                ("units", UNIT),
                ("practitioners", &practitioners),
            ],
            &[
                ("ca_file", "clinical-ca.pem", &ca_pem),
                ("p12_file", "institution.p12", &issued.pkcs12),
            ],
        )
        .await
        .context("connecting clinic A to the clinical record service")?;
        Ok(())
    }
}

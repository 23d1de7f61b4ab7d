//! The registers on the claims desk in process: packages made by the project's generator
//! uploaded and controlled, a register formed from their accepted cases with one click, the
//! workflow on the pages (the executor sends; the insurer's reviewer, who sees only what is
//! sent to their insurer, returns it for rework with a required comment, then passes it for
//! signature; wrong roles refused with the workflow's sentence), the three certificates made
//! by `openssl` uploaded under «Электронная подпись», signatures made by `openssl cms -sign`
//! over the bytes downloaded from the page uploaded in order — out of order, by the wrong user,
//! over other bytes refused — and the signed package and the documents downloaded. Runs on
//! SQLite and, when it is there, PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Cursor, Read};
use std::path::Path;
use std::process::Command;

use medgate_claims::fund::Role;
use medgate_claims::generate::Fault;
use medgate_test_peers::require_command;

mod support;
use support::claims::{claims_node_on, package, reviewer_login, signed_in_as, upload_and_wait};
use support::web::{alert, WebClient};
use support::Backend;

/// The one MO registered: code and name.
const MO: [(&str, &str); 1] = [("140001", "Городская больница")];

async fn act(web: &WebClient, id: i64, action: &str, comment: &str) -> support::web::Page {
    let path = format!("/claims/registers/{id}");
    let csrf = web.token(&path).await;
    web.post(
        &format!("{path}/act"),
        &[("csrf", &csrf), ("action", action), ("comment", comment)],
    )
    .await
}

fn openssl_ok(openssl: &Path, args: &[&str]) {
    let out = Command::new(openssl).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA and, per stem, an RSA (or EC) key and the certificate it issued, as `.pem` and `.cer`.
fn pki(openssl: &Path, dir: &Path, stems: &[(&str, &str)]) {
    let p = |name: &str| dir.join(name).to_str().unwrap().to_owned();
    openssl_ok(
        openssl,
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            &p("ca.key"),
        ],
    );
    openssl_ok(
        openssl,
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            &p("ca.key"),
            "-days",
            "30",
            "-utf8",
            "-subj",
            "/CN=УЦ ТФОМС/C=RU",
            "-out",
            &p("ca.pem"),
        ],
    );
    std::fs::write(
        dir.join("signer.ext"),
        "keyUsage=critical,digitalSignature,nonRepudiation\n",
    )
    .unwrap();
    for (index, (stem, algorithm)) in stems.iter().enumerate() {
        let key = p(&format!("{stem}.key"));
        let key_args: Vec<&str> = match *algorithm {
            "rsa" => vec!["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
            _ => vec!["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
        };
        let mut args = vec!["genpkey"];
        args.extend(&key_args);
        args.extend(["-out", &key]);
        openssl_ok(openssl, &args);
        let subject = format!("/CN={stem} Городская больница/C=RU");
        openssl_ok(
            openssl,
            &[
                "req",
                "-new",
                "-utf8",
                "-key",
                &key,
                "-subj",
                &subject,
                "-out",
                &p(&format!("{stem}.csr")),
            ],
        );
        let serial = format!("{}", 0x50 + index);
        openssl_ok(
            openssl,
            &[
                "x509",
                "-req",
                "-in",
                &p(&format!("{stem}.csr")),
                "-CA",
                &p("ca.pem"),
                "-CAkey",
                &p("ca.key"),
                "-set_serial",
                &serial,
                "-days",
                "30",
                "-extfile",
                &p("signer.ext"),
                "-out",
                &p(&format!("{stem}.pem")),
            ],
        );
        openssl_ok(
            openssl,
            &[
                "x509",
                "-in",
                &p(&format!("{stem}.pem")),
                "-outform",
                "DER",
                "-out",
                &p(&format!("{stem}.cer")),
            ],
        );
    }
}

/// A detached CMS signature (DER) of `content` by `stem`, made by `openssl cms -sign`.
fn cms_sign(openssl: &Path, dir: &Path, stem: &str, content: &[u8]) -> Vec<u8> {
    let input = dir.join(format!("{stem}-content.bin"));
    std::fs::write(&input, content).unwrap();
    let out = dir.join(format!("{stem}.sig"));
    let p = |path: &Path| path.to_str().unwrap().to_owned();
    openssl_ok(
        openssl,
        &[
            "cms",
            "-sign",
            "-binary",
            "-in",
            &p(&input),
            "-signer",
            &p(&dir.join(format!("{stem}.pem"))),
            "-inkey",
            &p(&dir.join(format!("{stem}.key"))),
            "-md",
            "sha256",
            "-outform",
            "DER",
            "-out",
            &p(&out),
        ],
    );
    std::fs::read(out).unwrap()
}

async fn upload_signature(web: &WebClient, id: i64, signature: &[u8]) -> support::web::Page {
    let path = format!("/claims/registers/{id}");
    let csrf = web.token(&path).await;
    web.post_multipart(
        &format!("{path}/signature"),
        &[("csrf", &csrf)],
        &[("signature", "register.sig", signature)],
    )
    .await
}

async fn upload_certificate(web: &WebClient, dir: &Path, stem: &str) -> support::web::Page {
    let csrf = web.token("/claims/admin/signature").await;
    let bytes = std::fs::read(dir.join(format!("{stem}.cer"))).unwrap();
    web.post_multipart(
        "/claims/admin/signature",
        &[("csrf", &csrf)],
        &[("certificate", &format!("{stem}.cer"), &bytes)],
    )
    .await
}

async fn forming_workflow_signatures_and_documents(backend: Backend) {
    let Some(openssl) = require_command("openssl", "apt-get install openssl") else {
        return;
    };
    let Some(node) = claims_node_on(backend, &MO, &["14002", "14003"]).await else {
        return;
    };
    let executor = signed_in_as(&node, "140001", Role::Executor).await;
    let accountant = signed_in_as(&node, "140001", Role::ChiefAccountant).await;
    let head = signed_in_as(&node, "140001", Role::Head).await;
    let reviewer = reviewer_login(&node, "14002").await;
    let stranger = reviewer_login(&node, "14003").await;

    let (clean, bytes) = package("140001", 8, 1, None);
    upload_and_wait(&executor, &clean, &bytes).await;
    let (faulty, bytes) = package("140001", 8, 2, Some(Fault::DateAfterPeriod));
    upload_and_wait(&executor, &faulty, &bytes).await;

    // Forming: only the executor; one register of 15 cases (record 2 of the faulty one out).
    let csrf = accountant.token("/claims/forming").await;
    let refused = accountant
        .post("/claims/forming", &[("csrf", &csrf), ("period", "2025-01")])
        .await;
    assert_eq!(refused.status, 403, "{}", refused.text());
    let csrf = executor.token("/claims/forming").await;
    let formed = executor
        .post("/claims/forming", &[("csrf", &csrf), ("period", "2025-01")])
        .await;
    assert_eq!(formed.status, 303, "{}", formed.text());
    assert_eq!(
        formed.location().as_deref(),
        Some("/claims/registers?formed=1")
    );
    let again = executor
        .post("/claims/forming", &[("csrf", &csrf), ("period", "2025-01")])
        .await;
    assert_eq!(again.status, 400);
    assert!(
        alert(&again.text()).contains("не осталось принятых случаев"),
        "{}",
        again.text()
    );
    let registers = node
        .metadata
        .claims_registers_of_mo("140001")
        .await
        .unwrap();
    assert_eq!(registers.len(), 1);
    let register = &registers[0];
    assert_eq!(
        (
            register.cases,
            register.usl_ok.as_str(),
            register.smo_code.as_str(),
            register.state.as_str()
        ),
        (15, "3", "14002", "draft")
    );
    assert_eq!(register.file_name, "HM140001S14002_25011.zip");
    let id = register.id;
    let kept: Vec<String> = std::fs::read_dir(node.data.join("claims/registers"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        kept,
        ["HM140001S14002_25011.zip"],
        "no part file left behind"
    );
    let list = executor.get("/claims/registers").await.text();
    assert!(
        list.contains("HM140001S14002_25011.zip") && list.contains("Черновик"),
        "{list}"
    );

    // The reviewer's desk opens on the registers; a draft is the MO's: they do not see it.
    assert_eq!(
        reviewer.get("/claims/upload").await.location().as_deref(),
        Some("/claims/registers")
    );
    assert!(!reviewer
        .get("/claims/registers")
        .await
        .text()
        .contains("HM140001S14002_25011.zip"));
    assert_eq!(
        reviewer
            .get(&format!("/claims/registers/{id}"))
            .await
            .status,
        404
    );
    let wrong_role = act(&accountant, id, "send", "").await;
    assert_eq!(wrong_role.status, 403);
    assert!(
        !alert(&wrong_role.text()).is_empty(),
        "{}",
        wrong_role.text()
    );
    assert_eq!(act(&executor, id, "send", "").await.status, 303);
    assert_eq!(
        stranger
            .get(&format!("/claims/registers/{id}"))
            .await
            .status,
        404
    );
    let page = reviewer
        .get(&format!("/claims/registers/{id}"))
        .await
        .text();
    assert!(
        page.contains("value=\"return_for_rework\"")
            && page.contains("value=\"accept_for_signature\""),
        "{page}"
    );
    let no_comment = act(&reviewer, id, "return_for_rework", "  ").await;
    assert_eq!(no_comment.status, 403);
    let returned = act(&reviewer, id, "return_for_rework", "Проверьте диагнозы").await;
    assert_eq!(returned.status, 303, "{}", returned.text());
    let twice = act(&reviewer, id, "accept_for_signature", "").await;
    assert_eq!(twice.status, 403, "a register for rework is not accepted");
    assert_eq!(act(&executor, id, "send", "").await.status, 303);
    assert_eq!(
        act(&reviewer, id, "accept_for_signature", "").await.status,
        303
    );
    let page = executor
        .get(&format!("/claims/registers/{id}?lang=en"))
        .await
        .text();
    assert!(
        page.contains("Проверьте диагнозы") && page.contains("for the MO&#39;s signature")
            || page.contains("for the MO's signature"),
        "{page}"
    );
    // Back to Russian, the desk's default.
    assert_eq!(
        executor
            .get(&format!("/claims/registers/{id}?lang=ru"))
            .await
            .status,
        200
    );
    let history = node.metadata.claims_register_history(id).await.unwrap();
    assert_eq!(
        history
            .iter()
            .map(|e| e.to_state.as_str())
            .collect::<Vec<_>>(),
        ["draft", "sent", "for_rework", "sent", "for_signature"]
    );

    // Certificates and signatures.
    let dir = tempfile::tempdir().unwrap();
    pki(
        &openssl,
        dir.path(),
        &[
            ("executor", "rsa"),
            ("accountant", "ec"),
            ("head", "rsa"),
            ("other", "rsa"),
        ],
    );
    let content = executor.get(&format!("/claims/registers/{id}/file")).await;
    assert_eq!(content.status, 200);
    let content = content.body;
    let executor_signature = cms_sign(&openssl, dir.path(), "executor", &content);
    let missing = upload_signature(&executor, id, &executor_signature).await;
    assert_eq!(missing.status, 422);
    assert!(
        alert(&missing.text()).contains("не загружен сертификат"),
        "{}",
        missing.text()
    );
    for (web, stem) in [
        (&executor, "executor"),
        (&accountant, "accountant"),
        (&head, "head"),
    ] {
        let page = upload_certificate(web, dir.path(), stem).await;
        assert_eq!(page.status, 200, "{}", page.text());
        assert!(
            page.text().contains("Сертификат зарегистрирован"),
            "{}",
            page.text()
        );
    }
    let head_signature = cms_sign(&openssl, dir.path(), "head", &content);
    let out_of_order = upload_signature(&head, id, &head_signature).await;
    assert_eq!(out_of_order.status, 422, "{}", out_of_order.text());
    let other = cms_sign(&openssl, dir.path(), "other", &content);
    let other_certificate = upload_signature(&executor, id, &other).await;
    assert_eq!(other_certificate.status, 422);
    let mut changed = content.clone();
    *changed.last_mut().unwrap() ^= 1;
    let other_bytes = upload_signature(
        &executor,
        id,
        &cms_sign(&openssl, dir.path(), "executor", &changed),
    )
    .await;
    assert_eq!(other_bytes.status, 422);
    let sentences: Vec<String> = [&out_of_order, &other_certificate, &other_bytes]
        .iter()
        .map(|page| alert(&page.text()))
        .collect();
    for sentence in &sentences {
        assert!(!sentence.is_empty());
    }
    let distinct: std::collections::HashSet<&String> = sentences.iter().collect();
    assert_eq!(distinct.len(), 3, "{sentences:#?}");
    assert!(node
        .metadata
        .claims_register_signatures(id)
        .await
        .unwrap()
        .is_empty());

    let signed = upload_signature(&executor, id, &executor_signature).await;
    assert_eq!(signed.status, 200, "{}", signed.text());
    // The chief accountant's turn, with the executor's certificate: the wrong user.
    let wrong_user = upload_signature(&accountant, id, &executor_signature).await;
    assert_eq!(wrong_user.status, 422, "{}", wrong_user.text());
    let sentence = alert(&wrong_user.text());
    assert!(
        !sentence.is_empty() && !sentences.contains(&sentence),
        "{sentence}"
    );
    let accountant_signature = cms_sign(&openssl, dir.path(), "accountant", &content);
    assert_eq!(
        upload_signature(&accountant, id, &accountant_signature)
            .await
            .status,
        200
    );
    // Signed anew: the earlier one was made before the two signatures it follows, and a
    // signature made before the previous one is refused.
    let head_signature = cms_sign(&openssl, dir.path(), "head", &content);
    // Nothing is paid before the third signature...
    assert!(node
        .metadata
        .claims_paid_case_keys()
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        upload_signature(&head, id, &head_signature).await.status,
        200
    );
    let stored = node.metadata.claims_register(id).await.unwrap().unwrap();
    assert_eq!(stored.state, "signed");
    // ...after it, every case of the register is, for the MEK of later packages (1.10.1).
    // (The two generated packages hold the same people on the same days: 15 cases, 8 keys.)
    let paid = node.metadata.claims_paid_case_keys().await.unwrap();
    let (mut keys, mut cases) = (std::collections::BTreeSet::new(), 0u64);
    let without_key = medgate_claims::package::case_keys(
        &medgate_claims::registers::register_path(&node.data, &stored),
        &mut |key| {
            cases += 1;
            keys.insert(key);
        },
    )
    .unwrap();
    assert_eq!((without_key, cases), (0, stored.cases));
    assert_eq!(paid, keys.into_iter().collect::<Vec<_>>());
    assert!(
        paid.iter().all(|key| key.starts_with("140001;")),
        "{paid:#?}"
    );
    let again = upload_signature(&head, id, &head_signature).await;
    assert_eq!(again.status, 422);

    // The signed package: the register and its three signatures, each verified by OpenSSL.
    let package = reviewer
        .get(&format!("/claims/registers/{id}/signed.zip"))
        .await;
    assert_eq!(package.status, 200);
    let mut archive = zip::ZipArchive::new(Cursor::new(package.body)).unwrap();
    let mut inside = Vec::new();
    archive
        .by_name("HM140001S14002_25011.zip")
        .unwrap()
        .read_to_end(&mut inside)
        .unwrap();
    assert_eq!(inside, content);
    std::fs::write(dir.path().join("register.zip"), &inside).unwrap();
    for position in 1..=3 {
        let mut signature = Vec::new();
        archive
            .by_name(&format!("HM140001S14002_25011.{position}.sig"))
            .unwrap()
            .read_to_end(&mut signature)
            .unwrap();
        let path = dir.path().join(format!("{position}.sig"));
        std::fs::write(&path, signature).unwrap();
        let p = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
        openssl_ok(
            &openssl,
            &[
                "cms",
                "-verify",
                "-binary",
                "-inform",
                "DER",
                "-in",
                &p(&format!("{position}.sig")),
                "-content",
                &p("register.zip"),
                "-CAfile",
                &p("ca.pem"),
                "-purpose",
                "any",
                "-out",
                "/dev/null",
            ],
        );
    }

    // The documents: pages and PDFs.
    for document in ["invoice", "summary", "register", "mek-act"] {
        let page = executor
            .get(&format!("/claims/registers/{id}/documents/{document}"))
            .await;
        assert_eq!(page.status, 200, "{document}: {}", page.text());
        let pdf = executor
            .get(&format!("/claims/registers/{id}/documents/{document}.pdf"))
            .await;
        assert_eq!(pdf.status, 200, "{document}");
        assert!(pdf.body.starts_with(b"%PDF-"), "{document}");
    }
    let invoice = executor
        .get(&format!("/claims/registers/{id}/documents/invoice"))
        .await
        .text();
    assert!(invoice.contains(&stored.summav), "{invoice}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_registers_are_formed_reviewed_signed_in_order_and_documented_on_sqlite() {
    forming_workflow_signatures_and_documents(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_registers_are_formed_reviewed_signed_in_order_and_documented_on_postgres() {
    forming_workflow_signatures_and_documents(Backend::Postgres).await;
}

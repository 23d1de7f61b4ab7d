//! Corrections made on a package's ФЛК tab, in process, on SQLite and PostgreSQL: a package
//! whose record 2 has `USL_OK` 9 (outside V006) concludes `flk_errors`; its findings offer
//! «Исправить»; the form shows the record and the current value; refused (nothing stored,
//! the packages counted) are a forged element, a record no finding names, an empty, too long,
//! unchanged or mistaken value, the head's login, another MO's login (404); a correction to
//! 3 registers a new package of the same name and period that ends `accepted`, the two pages
//! link each other, the kept package is unchanged, the audit names both; the corrected
//! package cannot be corrected again, nor the accepted one.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use medgate_claims::fund::Role;
use medgate_claims::generate::Fault;

mod support;
use support::claims::{claims_node_on, concluded, package, signed_in_as, upload, TWO_MOS};
use support::web::WebClient;
use support::{Backend, Node};

/// Uploads a generated package of MO 140001 with `fault`; answers its page's path and bytes.
async fn upload_with(web: &WebClient, fault: Fault) -> (String, String, Vec<u8>) {
    let (name, bytes) = package("140001", 12, 1, Some(fault));
    (upload(web, &name, &bytes).await, name, bytes)
}

async fn package_count(node: &Node) -> usize {
    node.metadata.claims_packages("140001").await.unwrap().len()
}

/// Posts the correction form of `package` as `web` (its token read from `token_page`).
async fn correct(
    web: &WebClient,
    token_page: &str,
    package: &str,
    fields: &[(&str, &str)],
) -> support::web::Page {
    let csrf = web.token(token_page).await;
    let mut all = vec![("csrf", csrf.as_str())];
    all.extend_from_slice(fields);
    web.post(&format!("{package}/correct"), &all).await
}

fn usl_ok(new: &str) -> [(&'static str, &str); 4] {
    [
        ("n_zap", "2"),
        ("element", "USL_OK"),
        ("current", "9"),
        ("new", new),
    ]
}

async fn a_dictionary_code_is_corrected_on_the_page_into_a_new_package(backend: Backend) {
    let Some(node) = claims_node_on(backend, &TWO_MOS, &[]).await else {
        return;
    };
    let web = signed_in_as(&node, "140001", Role::Executor).await;
    let (old, name, bytes) = upload_with(&web, Fault::BadDictionaryCode).await;
    let old_id: i64 = old.rsplit('/').next().unwrap().parse().unwrap();
    let html = concluded(&web, &old).await;
    assert!(html.contains("status-flk_errors"), "{html}");
    let form_path = format!("{old}/correct?n_zap=2&element=USL_OK");
    assert!(
        html.contains(&format!(
            "href=\"{old}/correct?n_zap=2&amp;element=USL_OK\">Исправить</a>"
        )),
        "{html}"
    );
    assert!(html.contains("Ошибки с действием «Исправить»"), "{html}");

    // The form: the record, the element, its current value in the kept package.
    let form = web.get(&form_path).await;
    assert_eq!(form.status, 200);
    let form = form.text();
    assert!(
        form.contains("<code id=\"current-value\">9</code>"),
        "{form}"
    );
    assert!(form.contains("Исправить и проверить"), "{form}");
    let english = web.get(&format!("{form_path}&lang=en")).await.text();
    assert!(english.contains("Fix and check"), "{english}");
    web.get(&format!("{form_path}&lang=ru")).await;

    // Refusals: each says what is wrong, and nothing is stored.
    assert_eq!(package_count(&node).await, 1);
    let too_long = "1".repeat(251);
    for (fields, status, words) in [
        (
            vec![
                ("n_zap", "2"),
                ("element", "SUMV"),
                ("current", "1"),
                ("new", "2"),
            ],
            400,
            "SUMV нельзя исправить на узле",
        ),
        (
            vec![
                ("n_zap", "3"),
                ("element", "USL_OK"),
                ("current", "3"),
                ("new", "2"),
            ],
            400,
            "USL_OK нельзя исправить на узле",
        ),
        (
            usl_ok("").to_vec(),
            400,
            "Новое значение USL_OK не заполнено.",
        ),
        (usl_ok(&too_long).to_vec(), 400, "длиннее 250 символов"),
        (usl_ok("9").to_vec(), 400, "совпадает с текущим"),
        (
            vec![
                ("n_zap", "2"),
                ("element", "USL_OK"),
                ("current", "7"),
                ("new", "3"),
            ],
            400,
            "В записи N_ZAP 2 нет USL_OK со значением «7».",
        ),
    ] {
        let page = correct(&web, &form_path, &old, &fields).await;
        assert_eq!(page.status, status, "{fields:?}: {}", page.text());
        assert!(page.text().contains(words), "{fields:?}: {}", page.text());
        assert_eq!(package_count(&node).await, 1, "{fields:?}");
    }
    // English when the page is English.
    web.get(&format!("{form_path}&lang=en")).await;
    let page = correct(&web, &form_path, &old, &usl_ok("")).await;
    assert_eq!(page.status, 400);
    assert!(
        page.text().contains("The new value of USL_OK is empty."),
        "{}",
        page.text()
    );
    web.get(&format!("{form_path}&lang=ru")).await;
    // A form without its token is the expired-form page.
    let forged = web.post(&format!("{old}/correct"), &usl_ok("3")).await;
    assert_eq!(forged.status, 403, "{}", forged.text());
    // The head of the MO reads the package but does not correct it.
    let head = signed_in_as(&node, "140001", Role::Head).await;
    let page = head.get(&old).await.text();
    assert!(!page.contains("Исправить</a>"), "{page}");
    let page = correct(&head, &old, &old, &usl_ok("3")).await;
    assert_eq!(page.status, 403, "{}", page.text());
    assert!(
        page.text().contains("Исправляет исполнитель"),
        "{}",
        page.text()
    );
    // Another MO's executor: the same 404 as a missing package.
    let other = signed_in_as(&node, "140002", Role::Executor).await;
    assert_eq!(other.get(&form_path).await.status, 404);
    let page = correct(&other, "/claims/upload", &old, &usl_ok("3")).await;
    assert_eq!(page.status, 404, "{}", page.text());
    assert_eq!(package_count(&node).await, 1);

    // The correction: a new package, checked at once, accepted.
    let page = correct(&web, &form_path, &old, &usl_ok("3")).await;
    assert_eq!(page.status, 303, "{}", page.text());
    let new = page.location().unwrap();
    let new_id: i64 = new.rsplit('/').next().unwrap().parse().unwrap();
    assert!(new_id > old_id);
    let html = concluded(&web, &new).await;
    assert!(html.contains("status-accepted"), "{html}");
    assert!(
        html.contains(&format!(
            "Исправление пакета №<a href=\"/claims/packages/{old_id}\">{old_id}</a>: USL_OK записи 2 «9» → «3»"
        )),
        "{html}"
    );
    let english = web.get(&format!("{new}?lang=en")).await.text();
    assert!(
        english.contains(&format!(
            "Correction of package No. <a href=\"/claims/packages/{old_id}\">{old_id}</a>: USL_OK of record 2 “9” → “3”"
        )),
        "{english}"
    );
    let html = web.get(&format!("{old}?lang=ru")).await.text();
    assert!(
        html.contains(&format!(
            "исправленная копия — пакет №<a href=\"/claims/packages/{new_id}\">{new_id}</a>"
        )),
        "{html}"
    );
    assert!(!html.contains("Исправить</a>"), "{html}");
    let (before, after) = (
        node.metadata.claims_package(old_id).await.unwrap().unwrap(),
        node.metadata.claims_package(new_id).await.unwrap().unwrap(),
    );
    assert_eq!(
        (before.status.as_str(), after.status.as_str()),
        ("flk_errors", "accepted")
    );
    assert_eq!(
        (&after.file_name, &after.period, &after.mo_code),
        (&name, &before.period, &before.mo_code)
    );
    assert_ne!(after.sha256, before.sha256);
    let kept = |id: i64| {
        std::fs::read(
            node.data
                .join("claims/packages")
                .join(id.to_string())
                .join(&name),
        )
        .unwrap()
    };
    assert!(kept(old_id) == bytes, "the corrected package is unchanged");
    assert_eq!(kept(new_id).len() as u64, after.size_bytes);
    let links = node
        .metadata
        .claims_package_corrections(new_id)
        .await
        .unwrap();
    let held = links.corrects.unwrap();
    assert_eq!(
        (
            held.corrects_package_id,
            held.n_zap.as_str(),
            held.element.as_str()
        ),
        (old_id, "2", "USL_OK")
    );
    assert_eq!(
        (held.old_value.as_str(), held.new_value.as_str()),
        ("9", "3")
    );
    let entries = node.metadata.list_audit_all(1000).await.unwrap();
    let audit = entries
        .iter()
        .find(|e| e.action == "claims.package.correct")
        .expect("the correction is audited");
    assert_eq!(
        (audit.actor.as_str(), audit.target.clone()),
        ("claims:M140001_1", format!("package:{new_id}"))
    );
    assert!(
        audit.details.contains(&format!(
            "package {new_id} corrects package {old_id}: USL_OK of record N_ZAP 2 \"9\" -> \"3\""
        )),
        "{}",
        audit.details
    );

    // Corrected once: the old package is not corrected again; the new one is accepted.
    assert_eq!(package_count(&node).await, 2);
    let page = correct(&web, &old, &old, &usl_ok("4")).await;
    assert_eq!(page.status, 409, "{}", page.text());
    assert!(
        page.text().contains("Пакет уже исправлен"),
        "{}",
        page.text()
    );
    let page = correct(&web, &new, &new, &usl_ok("4")).await;
    assert_eq!(page.status, 409, "{}", page.text());
    assert!(
        page.text()
            .contains("только пакет со статусом «ошибки ФЛК»"),
        "{}",
        page.text()
    );
    assert_eq!(package_count(&node).await, 2);
    assert_eq!(
        std::fs::read_dir(node.data.join("tmp")).unwrap().count(),
        0,
        "no staged copy is left behind"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dictionary_code_is_corrected_on_the_page_on_sqlite() {
    a_dictionary_code_is_corrected_on_the_page_into_a_new_package(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dictionary_code_is_corrected_on_the_page_on_postgres() {
    a_dictionary_code_is_corrected_on_the_page_into_a_new_package(Backend::Postgres).await;
}

/// A finding fixed only in the MO's system (a sum) has no «Исправить»: the page says so once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sum_mismatch_is_fixed_in_the_mo_system() {
    let node = claims_node_on(Backend::Sqlite, &TWO_MOS, &[])
        .await
        .unwrap();
    let web = signed_in_as(&node, "140001", Role::Executor).await;
    let (path, _, _) = upload_with(&web, Fault::InvoiceSum).await;
    let html = concluded(&web, &path).await;
    assert!(html.contains("status-flk_errors"), "{html}");
    assert!(!html.contains("Исправить</a>"), "{html}");
    assert!(
        html.contains("Эти ошибки исправляются в вашей МИС"),
        "{html}"
    );
    assert!(html.contains("в МИС"), "{html}");
}

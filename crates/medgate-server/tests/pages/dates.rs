//! A document's date as the document writes it (issue 12, item 9), on SQLite and PostgreSQL:
//! a discharge summary signed `201409171904-0500` is 2014-09-17 19:04 -05:00 in the API, in
//! the archive list and in its details, while sorting and the date filters use the instant
//! (2014-09-18T00:04Z); a date-only value is shown as a date, without a time or an offset;
//! the sample documents show their own +01:00; FHIR's `attachment.creation` keeps the offset.

use std::path::Path;

use crate::support::documents::{Made, NAME_A, PESEL_A};
use crate::support::web::admin_client;
use crate::support::{document_path, Backend, Node, Plan};

const TENANT: &str = "0000000000009070";

/// The fixture with another id and the effective time `value`.
fn made(extension: &str, value: &str) -> (String, String) {
    let made = Made::new(extension, PESEL_A, NAME_A, "Karta informacyjna");
    let text = made
        .text()
        .replace("value=\"20240315103000+0100\"", &format!("value=\"{value}\""));
    assert!(text.contains(value), "the fixture's effective time was replaced");
    (made.id(), text)
}

async fn dates_as_written(backend: Backend) {
    let Some(node) = Node::start(backend).await else { return };
    let clinic = node.enrol(TENANT, Plan::mb(20, 100)).await;
    // 19:04 at -05:00 is 00:04 UTC on the next day.
    let (minus_five, text) = made("TZ-MINUS-5", "201409171904-0500");
    clinic.put(text).await.unwrap();
    // Later in its own text, earlier as an instant: 22:30 UTC on the 17th.
    let (plus_one, text) = made("TZ-PLUS-1", "201409172330+0100");
    clinic.put(text).await.unwrap();
    // A day, no time, no offset: the instant is that day's midnight, read as UTC.
    let (day_only, text) = made("TZ-DAY", "20140917");
    clinic.put(text).await.unwrap();
    let sample = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/cda/01-karta-informacyjna.xml"),
    )
    .unwrap();
    let sample_id = clinic.put(sample).await.unwrap()["id"].as_str().unwrap().to_owned();

    let metadata = |id: String| {
        let clinic = &clinic;
        async move { clinic.get(&document_path(&id, "/metadata")).await["document"].clone() }
    };
    let document = metadata(minus_five.clone()).await;
    assert_eq!(document["effective_time"], "2014-09-17T19:04:00-05:00", "{document}");
    assert_eq!(document["effective_time_text"], "2014-09-17 19:04 -05:00");
    assert_eq!(document["effective_time_hl7"], "201409171904-0500");
    assert_eq!(document["effective_time_precision"], "minute");
    let document = metadata(day_only.clone()).await;
    assert_eq!(document["effective_time"], "2014-09-17T00:00:00Z", "{document}");
    assert_eq!(document["effective_time_text"], "2014-09-17");
    assert_eq!(document["effective_time_precision"], "day");
    let document = metadata(sample_id.clone()).await;
    assert_eq!(document["effective_time"], "2024-03-15T10:30:00+01:00", "{document}");
    assert_eq!(document["effective_time_text"], "2024-03-15 10:30:00 +01:00");

    // FHIR: the attachment's `creation` (a dateTime) in the document's own offset, a day
    // as a day.
    let bundle = clinic
        .get(&format!("/fhir/DocumentReference?patient.identifier={PESEL_A}"))
        .await;
    let mut creations: Vec<String> = bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            entry["resource"]["content"][0]["attachment"]["creation"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    creations.sort();
    assert_eq!(
        creations,
        [
            "2014-09-17",
            "2014-09-17T19:04:00-05:00",
            "2014-09-17T23:30:00+01:00",
            "2024-03-15T10:30:00+01:00"
        ],
        "{bundle}"
    );

    // Newest first by the instant: 00:04Z on the 18th, 22:30Z and 00:00Z on the 17th.
    let on = |from: &'static str, to: &'static str| {
        let clinic = &clinic;
        async move { clinic.search_ids(&[("from", from), ("to", to)]).await }
    };
    assert_eq!(
        on("2014-09-17", "2014-09-18").await,
        [minus_five.clone(), plus_one.clone(), day_only.clone()]
    );
    // A range ending 2014-09-17 23:59:59 UTC does not hold 2014-09-18T00:04Z, though the
    // document writes the 17th; one starting on the 18th (UTC) holds it.
    assert_eq!(on("2014-09-01", "2014-09-17").await, [plus_one.clone(), day_only.clone()]);
    assert_eq!(on("2014-09-18", "2014-09-30").await, std::slice::from_ref(&minus_five));

    // The archive list and the details page show the dates as the documents write them.
    let admin = admin_client(&node, TENANT, "daty").await;
    let list = admin.get("/admin/documents?from=2014-09-17&to=2014-09-18").await;
    assert_eq!(list.status, 200);
    let html = list.text();
    assert!(html.contains("2014-09-17 19:04 -05:00"), "{html}");
    assert!(html.contains("datetime=\"2014-09-17T19:04:00-05:00\""), "{html}");
    assert!(html.contains("2014-09-17 23:30 +01:00"), "{html}");
    assert!(!html.contains("2014-09-18 00:04"), "no UTC date is shown: {html}");
    for (id, shown) in [
        (&minus_five, "2014-09-17 19:04 -05:00"),
        (&day_only, ">2014-09-17<"),
        (&sample_id, "2024-03-15 10:30:00 +01:00"),
    ] {
        let page = admin
            .get(&format!("/admin/documents/{}", urlencoding::encode(id)))
            .await;
        assert_eq!(page.status, 200);
        assert!(page.text().contains(shown), "{shown} on {id}: {}", page.text());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dates_as_written_on_sqlite() {
    dates_as_written(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dates_as_written_on_postgres() {
    dates_as_written(Backend::Postgres).await;
}

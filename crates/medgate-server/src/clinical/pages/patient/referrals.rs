//! Referrals: issued for the patient on the patient page, found by id and used (once) on
//! the referrals page.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use medgate_web::desk::{respond, SignedIn};
use medgate_web::layout::{escape, message, redirect, Input, MessageKind};
use medgate_web::{AppState, WebRequest};

use super::*;

/// `POST /practice/patient/referral`: issues a referral for the patient.
pub(super) async fn issue_referral(
    State(state): State<AppState>,
    SignedIn(p): SignedIn<Practitioner>,
    request: WebRequest,
    body: Bytes,
) -> Response {
    act(&state, &p, request, &body, async |a: Action<'_>| {
        let specialty = a.form.text("specialty");
        if specialty.is_empty() {
            return Err(invalid(W::SpecialtyRequired.text(a.lang).to_owned()));
        }
        let (client, session) = a.service().await?;
        let referral = NewReferral {
            patient: a.taj.clone(),
            specialty: specialty.to_owned(),
            note: Some(a.form.text("note").to_owned()).filter(|n| !n.is_empty()),
            valid_until: None,
        };
        let referral = client.issue_referral(&session, &referral).await?;
        Ok(Done {
            action: "practice.referral.issue",
            target: referral.id().to_owned(),
            details: String::new(),
            answer: back(a.taj, "issued", None),
        })
    })
    .await
}

fn referral_search(lang: Lang, typed: &str) -> String {
    format!(
        "<form method=\"get\" action=\"{REFERRALS}\" id=\"referral-search\" class=\"inline\">{field}\
         <button class=\"primary\" type=\"submit\">{find}</button></form>",
        field = Input {
            hint: Some(W::ReferralIdHint.text(lang)),
            required: true,
            extra: "maxlength=\"64\" autocomplete=\"off\"",
            ..Input::text("id", W::ReferralId.text(lang), typed)
        }
        .html(),
        find = escape(W::FindReferral.text(lang)),
    )
}

/// `GET /practice/referrals[?id=…]`: a referral found by its id (the receiving side).
pub(super) async fn find_referral(
    State(state): State<AppState>,
    SignedIn(p): SignedIn<Practitioner>,
    request: WebRequest,
) -> Response {
    let request = hungarian(request);
    let outcome = async {
        let lang = request.lang;
        let mut frame = p.frame(&request, W::ReferralsTitle.text(lang));
        let banner = done_banner(lang, request.query("done").as_deref());
        let Some(id) = request.query("id") else {
            frame.body = format!("{banner}<p class=\"muted\">{}</p>{}", escape(W::ReferralsIntro.text(lang)), referral_search(lang, ""));
            return Ok(frame.into_response());
        };
        let found = async {
            let client = service::client(&state, &p.connection).await?;
            let session = service::session(&p.desk, &p.connection);
            Ok::<_, Failure>(client.referral(&session, &id).await?)
        }
        .await;
        let result = match found {
            Ok(Some(referral)) => {
                p.audit(&state, &request, "practice.referral.find", referral.id(), None, String::new()).await?;
                referral_table(lang, referral_row(lang, &p, &referral, None))
            }
            Ok(None) => {
                frame.status = StatusCode::NOT_FOUND;
                message(MessageKind::Error, &W::NoSuchReferral.with(lang, "id", &id))
            }
            Err(failure) => {
                return failed(&state, &request, failure, async |status, text| {
                    frame.status = status;
                    frame.body = format!("{}{}", message(MessageKind::Error, &text), referral_search(lang, &id));
                    Ok(frame.into_response())
                })
                .await
            }
        };
        frame.body = format!("{banner}{}{result}", referral_search(lang, &id));
        Ok(frame.into_response())
    }
    .await;
    respond(&PRACTICE, &request, outcome)
}

/// `POST /practice/referrals/use`: consumes a referral (once; a second use is refused by
/// the service, whose sentence the page shows).
pub(super) async fn use_referral(
    State(state): State<AppState>,
    SignedIn(p): SignedIn<Practitioner>,
    request: WebRequest,
    body: Bytes,
) -> Response {
    let request = hungarian(request);
    let outcome = async {
        let form = p.genuine_form(&request, &body)?;
        let lang = request.lang;
        let id = form.text("id").to_owned();
        let used = async {
            let client = service::client(&state, &p.connection).await?;
            let session = service::session(&p.desk, &p.connection);
            Ok::<_, Failure>(client.consume_referral(&session, &id).await?)
        }
        .await;
        match used {
            Ok(referral) => {
                let patient = referral.json()["subject"]["reference"]
                    .as_str()
                    .and_then(|r| r.strip_prefix("Patient/"))
                    .map(str::to_owned);
                p.audit(&state, &request, "practice.referral.use", &id, patient.as_deref(), String::new()).await?;
                Ok(redirect(
                    &format!("{REFERRALS}?id={}&done=used", urlencoding::encode(&id)),
                    &[],
                ))
            }
            Err(failure) => {
                failed(&state, &request, failure, async |status, text| {
                    let mut frame = p.frame(&request, W::ReferralsTitle.text(lang));
                    frame.status = status;
                    frame.body = format!("{}{}", message(MessageKind::Error, &text), referral_search(lang, &id));
                    Ok(frame.into_response())
                })
                .await
            }
        }
    }
    .await;
    respond(&PRACTICE, &request, outcome)
}

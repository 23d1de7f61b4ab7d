//! Certificates expiring across all accounts.

use super::*;

// Certificates expiring across all accounts
// ---------------------------------------------------------------------------------------

/// `GET /operator/certificates[?days=N]`: every account's active certificates that expire
/// within N days (30 unless given) or have expired, soonest first.
pub(super) async fn certificates(
    State(state): State<AppState>,
    SignedIn(operator): SignedIn<Operator>,
    request: WebRequest,
) -> Response {
    let outcome = async {
        let lang = request.lang;
        let horizon = request
            .query("days")
            .and_then(|d| d.parse::<i64>().ok())
            .filter(|d| (0..=3650).contains(d))
            .unwrap_or(DEFAULT_EXPIRY_DAYS);
        let mut expiring: Vec<(Tenant, TenantCertificate)> = Vec::new();
        for tenant in state
            .metadata
            .list_tenants()
            .await
            .map_err(|e| ApiError::internal("listing tenants", &e))?
        {
            for certificate in state
                .metadata
                .active_certificates(&tenant.id)
                .await
                .map_err(|e| ApiError::internal("reading certificates", &e))?
            {
                if days_left(certificate.not_after) <= horizon {
                    expiring.push((tenant.clone(), certificate));
                }
            }
        }
        expiring.sort_by_key(|(_, c)| c.not_after);
        let rows: String = expiring
            .iter()
            .map(|(tenant, c)| {
                let left = days_left(c.not_after);
                let left_text = if left < 0 {
                    T::Expired.text(lang).to_owned()
                } else {
                    left.to_string()
                };
                format!(
                    "<tr>{}{}{}{}{}</tr>",
                    td(lang, T::AccountId, &format!("<a class=\"mono nowrap\" href=\"{}\">{}</a>", escape(&tenant_href(&tenant.id, "")), escape(tenant.id.as_str()))),
                    td(lang, T::Kind, c.kind.as_str()),
                    td(lang, T::SerialNumber, &format!("<span class=\"mono\">{}</span>", escape(&c.serial_hex))),
                    td(lang, T::ValidTo, &escape(&minute(c.not_after))),
                    td(lang, T::DaysLeft, &escape(&left_text)),
                )
            })
            .collect();
        let listing = if expiring.is_empty() {
            message(MessageKind::Info, &T::NothingExpiring.with(lang, "days", &horizon.to_string()))
        } else {
            format!(
                "<div class=\"table-wrap\"><table class=\"stack\" id=\"expiring\"><thead><tr>{}{}{}{}{}</tr></thead><tbody>{rows}</tbody></table></div>",
                th(lang, T::AccountId),
                th(lang, T::Kind),
                th(lang, T::SerialNumber),
                th(lang, T::ValidTo),
                th(lang, T::DaysLeft),
            )
        };
        let mut frame = operator.frame(&request, T::ExpiringTitle.text(lang));
        frame.body = format!(
            "<form class=\"card\" method=\"get\" action=\"/operator/certificates\">{}<button class=\"primary\" type=\"submit\">{}</button></form><p></p>{listing}",
            Input {
                name: "days",
                label: T::WithinDays.text(lang),
                kind: "number",
                value: &horizon.to_string(),
                hint: None,
                error: None,
                required: false,
                extra: "min=\"0\" max=\"3650\" inputmode=\"numeric\"",
            }
            .html(),
            escape(T::Find.text(lang)),
        );
        Ok(frame.into_response())
    }
    .await;
    respond(&OPERATOR, &request, outcome)
}

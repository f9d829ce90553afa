//! Making a referral: the one operation behind `/refer`, `POST /api/v1/referrals`
//! and `POST /api/v1/referrals/fhir`. A handler parses its input into a
//! [`Draft`], proves the caller may refer ([`Referrer::check`], the one role
//! check), reads the hubs once ([`Hubs::read`]) and calls [`make_referral`]; the
//! store writes the referral, its match keys, its timeline and its audit entry in
//! one transaction.

use syndemic_access::{Action, Actor};
use syndemic_hub::referral::Draft;
use syndemic_hub::FieldError;
use syndemic_model::normalise_postcode;
use syndemic_place::edition::{self, Edition};
use syndemic_store::hub::{CreateError, Created, HubOrg, NewReferral};

use crate::shell::{new_uuid, now, today};
use crate::{AppState, WebError};

/// Proof that an actor's role may make referrals: made only by
/// [`Referrer::check`], required by [`make_referral`], so the role is checked
/// once and cannot be forgotten.
pub(crate) struct Referrer<'a> {
    actor: &'a Actor,
}

impl<'a> Referrer<'a> {
    /// The role must allow referring, or the answer is 403.
    pub(crate) fn check(actor: &'a Actor) -> Result<Referrer<'a>, WebError> {
        tracing::debug!(action = "refer", role = actor.role.code(), "role checked");
        if syndemic_access::role_allows(actor.role, Action::Refer) {
            Ok(Referrer { actor })
        } else {
            Err(WebError::Forbidden(
                "this account may not make referrals".into(),
            ))
        }
    }
}

/// The organisations that take referrals, read once per request.
pub(crate) struct Hubs(Vec<HubOrg>);

impl Hubs {
    pub(crate) async fn read(state: &AppState) -> Result<Hubs, WebError> {
        Ok(Hubs(
            state
                .db
                .orgs()
                .await?
                .into_iter()
                .filter(|o| o.is_hub)
                .collect(),
        ))
    }

    /// Each hub's id and name, for the form's choice.
    pub(crate) fn choices(&self) -> Vec<(String, String)> {
        self.0
            .iter()
            .map(|o| (o.id.clone(), o.name.clone()))
            .collect()
    }

    /// The hub asked for, or the only one there is.
    pub(crate) fn chosen(&self, asked: Option<String>) -> Result<String, WebError> {
        if let Some(h) = asked.filter(|h| !h.is_empty()) {
            return Ok(h);
        }
        match self.0.as_slice() {
            [one] => Ok(one.id.clone()),
            [] => Err(WebError::Unprocessable(
                "no hub takes referrals here yet".into(),
            )),
            many => Err(WebError::Unprocessable(format!(
                "name the hub: one of {}",
                many.iter()
                    .map(|h| h.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    fn takes(&self, id: &str) -> bool {
        self.0.iter().any(|o| o.id == id)
    }
}

/// Why a referral was not made.
pub(crate) enum Refusal {
    /// The referral breaks rules of its fields: shown beside each (422).
    Fields(Vec<FieldError>),
    /// Anything else: a reused key, a race, the store.
    Failed(WebError),
}

impl From<WebError> for Refusal {
    fn from(e: WebError) -> Refusal {
        Refusal::Failed(e)
    }
}

/// Checks a draft and stores it as a referral to `hub_org` (one transaction; a
/// repeat of the same request under the same key answers with the first).
pub(crate) async fn make_referral(
    state: &AppState,
    by: &Referrer<'_>,
    hubs: &Hubs,
    hub_org: &str,
    draft: Draft,
    idempotency_key: &str,
) -> Result<Created, Refusal> {
    let key = idempotency_key.trim();
    if key.is_empty() || key.len() > 200 {
        return Err(Refusal::Fields(vec![FieldError::new(
            "idempotency_key",
            "send a unique key of 1–200 characters with each new referral (the same key again for a retry)",
        )]));
    }
    if !hubs.takes(hub_org) {
        return Err(Refusal::Fields(vec![FieldError::new(
            "hub",
            format!("`{hub_org}` is not a hub that takes referrals"),
        )]));
    }
    let draft = draft.validate(today()).map_err(Refusal::Fields)?;
    let request_hash = syndemic_access::secret::hash_token(&format!(
        "{hub_org}|{}",
        serde_json::to_string(&draft).unwrap_or_default()
    ));
    let (lsoa, imd_decile) = locate(state, &draft.person.postcode).await?;
    let id = new_uuid()?;
    let reference = format!("R-{}", id[..8].to_uppercase());
    let n = NewReferral {
        match_keys: draft.person.match_keys(),
        id,
        reference,
        hub_org: hub_org.to_owned(),
        referrer_org: by.actor.org.clone(),
        referrer: by.actor.id.clone(),
        idempotency_key: key.to_owned(),
        request_hash,
        created_at: now(),
        draft,
        lsoa,
        imd_decile,
    };
    state.db.create_referral(&n).await.map_err(|e| {
        Refusal::Failed(match e {
            CreateError::KeyReused(k) => WebError::Conflict(format!(
                "the idempotency key `{k}` was used for a different referral: use a new key for a new referral"
            )),
            CreateError::Raced => WebError::Conflict(
                "the same referral is being made by another request: retry with the same key".into(),
            ),
            CreateError::Store(e) => e.into(),
        })
    })
}

/// Where a postcode is: its small area and that area's national IMD decile, in
/// the edition the place's rule chooses for it.
async fn locate(
    state: &AppState,
    postcode: &str,
) -> Result<(Option<String>, Option<i64>), WebError> {
    let Some(pc) = normalise_postcode(postcode) else {
        return Ok((None, None));
    };
    let Some(rec) = state.db.postcode(&pc).await? else {
        return Ok((None, None));
    };
    let Some(lsoa) = rec.lsoa21.or(rec.lsoa11) else {
        return Ok((None, None));
    };
    let dep = state.db.deprivation(lsoa).await?;
    let imd = |e: Edition| {
        dep.iter()
            .find(|d| d.domain == "imd" && d.edition == e.code())
    };
    let edition =
        edition::choose(Edition::NEWEST_FIRST.map(|e| (e, usize::from(imd(e).is_some()))));
    Ok((
        Some(lsoa.as_str().to_owned()),
        edition.and_then(imd).map(|d| d.decile),
    ))
}

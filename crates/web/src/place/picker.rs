//! The area picker: one way to name a place in every form that asks for one
//! (compare, the hidden-deprivation finder, the outreach planner).
//!
//! A person types a **name** (the browser suggests the place's areas from a
//! `<datalist>` as they type — type-ahead with no script, which the site's
//! content security policy forbids), a **postcode** (its small area, through the
//! postcode directory) or a **GSS code**. The server resolves it; a name that
//! several areas share, or none, is an error that lists the choices. A form with
//! an error is shown again with the message beside its field and everything the
//! person typed kept.

use maud::{html, Markup};
use syndemic_model::{normalise_postcode, AreaCode, AreaType};

use crate::{AppState, WebError};

/// The most names the suggestions list holds: a county's districts and wards
/// fit; England's 7,000 wards would weigh every page, so then only the
/// authorities are suggested.
const MOST_SUGGESTIONS: usize = 2_000;

/// The id of the page's one suggestions list.
pub(crate) const SUGGESTIONS: &str = "area-names";

/// An area the picker resolved: its code and name.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Picked {
    pub code: AreaCode,
    pub name: String,
}

async fn named(state: &AppState, code: AreaCode) -> Result<Option<Picked>, WebError> {
    Ok(state.db.area(code).await?.map(|a| Picked {
        code,
        name: a.area.name.unwrap_or_else(|| code.to_string()),
    }))
}

fn described(a: &syndemic_store::Area) -> String {
    format!(
        "{} ({}, {})",
        a.name.as_deref().unwrap_or(a.code.as_str()),
        a.code.area_type().label(),
        a.code
    )
}

/// The area `text` names — a code, a postcode or a name — or, as `Err`, what to
/// tell the person (beside the field).
pub(crate) async fn resolve(
    state: &AppState,
    text: &str,
) -> Result<Result<Picked, String>, WebError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(Err(
            "Enter an area: a name, a postcode or a code such as E08000009".into(),
        ));
    }
    if text.chars().count() > 100 {
        return Ok(Err(
            "That is too long for an area's name, postcode or code".into()
        ));
    }
    if let Ok(code) = AreaCode::parse(text) {
        return Ok(named(state, code).await?.ok_or_else(|| {
            format!(
                "{code} is not an area this place holds: check the code, or type the area's name"
            )
        }));
    }
    if let Some(postcode) = normalise_postcode(text) {
        let Some(found) = state.db.postcode(&postcode).await? else {
            return Ok(Err(format!(
                "The postcode {postcode} is not in the postcode directory this place holds: check it, or type the area's name"
            )));
        };
        let Some(lsoa) = found.lsoa21.or(found.lsoa11) else {
            return Ok(Err(format!(
                "The postcode {postcode} has no small area in the postcode directory: type the area's name"
            )));
        };
        return Ok(named(state, lsoa).await?.ok_or_else(|| {
            format!("The postcode {postcode} lies in {lsoa}, an area this place does not hold")
        }));
    }
    let found = state.db.search_areas(text, 200).await?;
    let exact: Vec<&syndemic_store::Area> = found
        .iter()
        .filter(|a| {
            a.name
                .as_deref()
                .is_some_and(|n| n.trim().eq_ignore_ascii_case(text))
        })
        .collect();
    Ok(match exact.as_slice() {
        [one] => Ok(Picked {
            code: one.code,
            name: one.name.clone().unwrap_or_default(),
        }),
        [] if found.is_empty() => Err(format!(
            "No area's name, postcode or code matches “{text}”: check the spelling, or search for part of the name"
        )),
        [] => Err(format!(
            "No area is called “{text}”. Did you mean {}? Type the whole name or its code",
            found
                .iter()
                .take(5)
                .map(described)
                .collect::<Vec<_>>()
                .join(", ")
        )),
        many => Err(format!(
            "{} areas are called “{text}”: type the code of the one you mean — {}",
            many.len(),
            many.iter()
                .take(8)
                .map(|a| described(a))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    })
}

/// [`resolve`] for a field that may be left empty: `None` for empty.
pub(crate) async fn resolve_optional(
    state: &AppState,
    text: &str,
) -> Result<Result<Option<Picked>, String>, WebError> {
    if text.trim().is_empty() {
        return Ok(Ok(None));
    }
    Ok(resolve(state, text).await?.map(Some))
}

/// One area field: its label, a hint, its error (if any) and the text as typed,
/// suggesting names from the page's [`suggestions`].
pub(crate) fn field(
    name: &str,
    label: &str,
    typed: &str,
    error: Option<&str>,
    required: bool,
) -> Markup {
    let hint = format!("{name}-hint");
    let err = format!("{name}-error");
    html! {
        div class="field" {
            label for=(name) { (label) }
            span class="hint" id=(hint) { "A name (suggestions appear as you type), a postcode such as TS1 1AA, or a code such as E08000009" }
            @if let Some(e) = error { p class="field-error" id=(err) { "Error: " (e) } }
            input id=(name) name=(name) type="text" list=(SUGGESTIONS) autocomplete="off" value=(typed) required[required]
                aria-describedby=(if error.is_some() { format!("{hint} {err}") } else { hint.clone() })
                aria-invalid=[error.map(|_| "true")];
        }
    }
}

/// The errors of a form above it, each linking to its field.
pub(crate) fn error_summary(errors: &[(&str, String)]) -> Markup {
    html! {
        @if !errors.is_empty() {
            div class="error-summary" role="alert" tabindex="-1" id="errors" {
                h2 { "There is a problem" }
                ul { @for (field, message) in errors { li { a href=(format!("#{field}")) { (message) } } } }
            }
        }
    }
}

/// The names the browser suggests in area fields: the regions, counties and
/// districts the store holds, and their wards where they are not too many.
pub(crate) async fn suggestions(state: &AppState) -> Result<Markup, WebError> {
    let mut names: Vec<String> = Vec::new();
    for t in [
        AreaType::Region,
        AreaType::County,
        AreaType::MetropolitanCounty,
        AreaType::UnitaryAuthority,
        AreaType::MetropolitanDistrict,
        AreaType::LondonBorough,
        AreaType::NonMetropolitanDistrict,
    ] {
        names.extend(
            state
                .db
                .areas_of_type(t)
                .await?
                .into_iter()
                .filter_map(|a| a.name),
        );
    }
    let wards: Vec<String> = state
        .db
        .areas_of_type(AreaType::Ward)
        .await?
        .into_iter()
        .filter_map(|a| a.name)
        .collect();
    if names.len() + wards.len() <= MOST_SUGGESTIONS {
        names.extend(wards);
    }
    names.sort();
    names.dedup();
    names.truncate(MOST_SUGGESTIONS);
    Ok(html! {
        datalist id=(SUGGESTIONS) { @for n in &names { option value=(n) {} } }
    })
}

/// A field's text as a number in a range, or its error.
pub(crate) fn number_in<T: std::str::FromStr + PartialOrd + Copy + std::fmt::Display>(
    text: &Option<String>,
    default: T,
    range: std::ops::RangeInclusive<T>,
    what: &str,
) -> Result<T, String> {
    let Some(t) = text.as_deref().map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(default);
    };
    match t.parse::<T>() {
        Ok(v) if range.contains(&v) => Ok(v),
        _ => Err(format!(
            "{what} must be a number from {} to {}, not “{t}”",
            range.start(),
            range.end()
        )),
    }
}

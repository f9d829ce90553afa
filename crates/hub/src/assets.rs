//! Community assets — groups, halls, green spaces, businesses that help —
//! recorded as Open Referral UK services at locations, each classified by a term
//! of the asset taxonomy ([`TAXONOMY`]), so they are served by `/openreferral`
//! beside the referral services and drawn on the asset map. This module turns an
//! asset into its ORUK documents and finds the assets of a directory again.

use serde_json::json;

use crate::oruk::Feed;

/// The asset taxonomy's id in the directory.
pub const TAXONOMY: &str = "syndemic-community-assets";

/// The kinds of asset: (term code, name for people, what it covers).
pub const KINDS: [(&str, &str, &str); 6] = [
    (
        "community-group",
        "Community group",
        "Residents' associations, clubs, mutual aid and voluntary groups",
    ),
    (
        "meeting-place",
        "Hall or meeting place",
        "Village and church halls, community centres, libraries",
    ),
    (
        "green-space",
        "Green or blue space",
        "Parks, allotments, woods, beaches, walking routes",
    ),
    (
        "business",
        "Business that helps",
        "Shops, cafés and firms that host, employ or support residents",
    ),
    (
        "faith",
        "Faith group",
        "Places of worship and the help their congregations give",
    ),
    (
        "sport-and-leisure",
        "Sport and leisure",
        "Sports clubs, leisure centres, swimming pools, gyms",
    ),
];

/// A community asset as a community records it.
#[derive(Debug, Clone, PartialEq)]
pub struct Asset {
    /// Stable id (the service's; its location's and organisation's derive from it).
    pub id: String,
    pub name: String,
    pub description: String,
    /// One of [`KINDS`]' codes.
    pub kind: String,
    /// Who runs it (an organisation's name).
    pub organisation: String,
    pub latitude: f64,
    pub longitude: f64,
    pub postcode: Option<String>,
    pub url: Option<String>,
}

/// The id of a kind's term in the directory.
pub fn term_id(kind: &str) -> String {
    format!("{TAXONOMY}:{kind}")
}

/// The name of a kind for people, if it is one.
pub fn kind_label(kind: &str) -> Option<&'static str> {
    KINDS.iter().find(|k| k.0 == kind).map(|k| k.1)
}

/// The assets as an ORUK feed: the taxonomy and its terms, an organisation per
/// distinct runner, and a service per asset with one service-at-location and
/// an attribute naming its kind's term. A kind not in [`KINDS`] is an error
/// naming the asset.
pub fn to_feed(assets: &[Asset]) -> Result<Feed, String> {
    let mut feed = Feed::default();
    feed.taxonomies.insert(
        TAXONOMY.into(),
        json!({
            "id": TAXONOMY,
            "name": "Community assets",
            "description": "What a community has to build on: groups, halls, green spaces, businesses that help, faith groups, sport and leisure (syndemic's own taxonomy).",
            "version": "1"
        }),
    );
    for (code, name, description) in KINDS {
        feed.taxonomy_terms.insert(
            term_id(code),
            json!({
                "id": term_id(code),
                "code": code,
                "name": name,
                "description": description,
                "taxonomy_id": TAXONOMY,
                "taxonomy": "Community assets"
            }),
        );
    }
    for a in assets {
        if kind_label(&a.kind).is_none() {
            return Err(format!(
                "asset `{}`: kind `{}` is not one of {}",
                a.name,
                a.kind,
                KINDS.map(|k| k.0).join(", ")
            ));
        }
        let org_id = format!("{TAXONOMY}-org-{}", slug(&a.organisation));
        feed.organizations
            .entry(org_id.clone())
            .or_insert_with(|| json!({ "id": org_id, "name": a.organisation, "description": "" }));
        let mut location = json!({
            "id": format!("{}-location", a.id),
            "location_type": "physical",
            "name": a.name,
            "latitude": a.latitude,
            "longitude": a.longitude,
        });
        if let Some(p) = &a.postcode {
            location["addresses"] = json!([{
                "id": format!("{}-address", a.id),
                "location_id": format!("{}-location", a.id),
                "address_1": a.name,
                "city": "",
                "state_province": "",
                "postal_code": p,
                "country": "GB",
                "address_type": "physical"
            }]);
        }
        let mut service = json!({
            "id": a.id,
            "organization_id": org_id,
            "name": a.name,
            "description": a.description,
            "status": "active",
            "service_at_locations": [{
                "id": format!("{}-at", a.id),
                "service_id": a.id,
                "location_id": format!("{}-location", a.id),
                "location": location
            }],
            "attributes": [{
                "id": format!("{}-kind", a.id),
                "link_id": a.id,
                "link_type": "service",
                "link_entity": "service",
                "taxonomy_term_id": term_id(&a.kind)
            }]
        });
        if let Some(url) = &a.url {
            service["url"] = json!(url);
        }
        feed.services.insert(a.id.clone(), service);
        feed.records += 1;
    }
    Ok(feed)
}

/// A name as an id's part: lower-case letters and digits, runs of anything
/// else one hyphen.
pub fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_owned()
}

/// The assets of a directory: every service with an attribute naming a term of
/// the asset taxonomy and a location with coordinates, by name.
pub fn from_directory(feed: &Feed) -> Vec<Asset> {
    let mut out = Vec::new();
    for s in feed.services.values() {
        let kind = s["attributes"]
            .as_array()
            .into_iter()
            .flatten()
            .find_map(|a| {
                let id = a["taxonomy_term_id"]
                    .as_str()
                    .or_else(|| a["taxonomy_term"]["id"].as_str())?;
                id.strip_prefix(TAXONOMY)?
                    .strip_prefix(':')
                    .filter(|k| kind_label(k).is_some())
                    .map(str::to_owned)
            });
        let Some(kind) = kind else { continue };
        let Some(location) = s["service_at_locations"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|sal| &sal["location"])
            .find(|l| l["latitude"].is_number() && l["longitude"].is_number())
        else {
            continue;
        };
        let organisation = s["organization_id"]
            .as_str()
            .and_then(|id| feed.organizations.get(id))
            .and_then(|o| o["name"].as_str())
            .unwrap_or_default();
        out.push(Asset {
            id: s["id"].as_str().unwrap_or_default().to_owned(),
            name: s["name"].as_str().unwrap_or_default().to_owned(),
            description: s["description"].as_str().unwrap_or_default().to_owned(),
            kind,
            organisation: organisation.to_owned(),
            latitude: location["latitude"].as_f64().unwrap_or_default(),
            longitude: location["longitude"].as_f64().unwrap_or_default(),
            postcode: location["addresses"][0]["postal_code"]
                .as_str()
                .map(str::to_owned),
            url: s["url"].as_str().map(str::to_owned),
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hall() -> Asset {
        Asset {
            id: "asset-quay-hall".into(),
            name: "Quay Hall".into(),
            description: "A hall by the harbour".into(),
            kind: "meeting-place".into(),
            organisation: "Saltmouth Old Town Residents' Association".into(),
            latitude: 50.61,
            longitude: -3.42,
            postcode: Some("EX1 1AA".into()),
            url: Some("https://example.org/quay-hall".into()),
        }
    }

    #[test]
    fn an_asset_round_trips_through_its_oruk_documents() {
        let feed = to_feed(&[hall()]).unwrap();
        assert_eq!(feed.taxonomies.len(), 1);
        assert_eq!(feed.taxonomy_terms.len(), KINDS.len());
        assert_eq!(feed.organizations.len(), 1);
        assert_eq!(from_directory(&feed), vec![hall()]);
        // And again through the feed reader, as an import would.
        let json = crate::oruk::Directory::new(feed).export();
        let back = Feed::parse(&json).unwrap();
        assert_eq!(from_directory(&back), vec![hall()]);
    }

    #[test]
    fn an_unknown_kind_is_refused_by_name_and_other_services_are_not_assets() {
        let mut bad = hall();
        bad.kind = "pub".into();
        let e = to_feed(&[bad]).unwrap_err();
        assert!(e.contains("Quay Hall") && e.contains("`pub`"), "{e}");
        let mut feed = to_feed(&[hall()]).unwrap();
        feed.services.insert(
            "warm-homes".into(),
            json!({"id": "warm-homes", "name": "Warm homes advice", "attributes": [],
                   "service_at_locations": [{"location": {"latitude": 50.0, "longitude": -3.0}}]}),
        );
        assert_eq!(from_directory(&feed).len(), 1);
    }
}

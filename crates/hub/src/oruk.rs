//! The service directory in Open Referral UK 3.0 (the UK profile of HSDS 3.0).
//!
//! Services are kept as the standard's own documents (`serde_json::Value` in the
//! shape of `schema/compiled/service.json`: a service with its schedules, service
//! areas, service-at-locations and their locations, contacts, cost options and
//! attributes), so a feed imported and exported again keeps every field it had.
//! Organisations, taxonomies and taxonomy terms are kept beside them. This module
//! reads feeds ([`Feed::parse`]), answers the read API's queries over an in-memory
//! [`Directory`] (filters, projections to the list shapes, the page envelope) and
//! writes a feed back out ([`Directory::export`]).

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

/// The version string the API's root answers with.
pub const VERSION: &str = "HSDS-UK-3.0";

/// One-to-one fields of a service: the list projection (`service_list.json`).
const SERVICE_LIST_FIELDS: &[&str] = &[
    "id",
    "organization_id",
    "name",
    "description",
    "url",
    "email",
    "status",
    "fees",
    "accreditations",
    "minimum_age",
    "maximum_age",
    "assured_date",
    "assurer_email",
    "alert",
    "last_modified",
];
const ORGANIZATION_LIST_FIELDS: &[&str] = &[
    "id",
    "name",
    "description",
    "email",
    "website",
    "logo",
    "uri",
    "parent_organization_id",
];
const LOCATION_LIST_FIELDS: &[&str] = &[
    "id",
    "location_type",
    "name",
    "description",
    "latitude",
    "longitude",
    "external_identifier",
    "external_identifier_type",
];
const SERVICE_STATUSES: &[&str] = &["active", "inactive", "defunct", "temporarily closed"];

/// What is wrong with a feed: where (a JSON path such as `services[3].email`) and what.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct FeedError {
    pub path: String,
    pub message: String,
}

fn feed_error(path: &str, message: impl Into<String>) -> FeedError {
    FeedError {
        path: path.to_owned(),
        message: message.into(),
    }
}

/// The records of a feed, by id (a repeated id keeps the last).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Feed {
    pub organizations: BTreeMap<String, Value>,
    pub services: BTreeMap<String, Value>,
    pub taxonomies: BTreeMap<String, Value>,
    pub taxonomy_terms: BTreeMap<String, Value>,
    /// Records read, repeats included.
    pub records: usize,
    /// What was dropped on the way in (an optional link that is not a URL, …),
    /// by path: the standard's validator warns of these rather than failing.
    pub warnings: Vec<String>,
}

impl Feed {
    /// Reads a feed: an export of ours (`{"organizations": […], "services": […],
    /// "taxonomies": […], "taxonomy_terms": […]}`), a page of the read API
    /// (`{"contents": […], …}`), an array of records, or one record — a service,
    /// organisation (with its `services`), taxonomy (with its `taxonomy_terms`) or
    /// taxonomy term. Organisations and terms nested in services are collected too.
    pub fn parse(json: &Value) -> Result<Feed, FeedError> {
        let mut feed = Feed::default();
        match json {
            Value::Object(o)
                if ["organizations", "services", "taxonomies", "taxonomy_terms"]
                    .iter()
                    .any(|k| o.get(*k).is_some_and(Value::is_array)) =>
            {
                for key in ["organizations", "services", "taxonomies", "taxonomy_terms"] {
                    if let Some(items) = o.get(key) {
                        let items = items
                            .as_array()
                            .ok_or_else(|| feed_error(key, "must be an array"))?;
                        for (i, item) in items.iter().enumerate() {
                            feed.add(item, &format!("{key}[{i}]"), Some(key))?;
                        }
                    }
                }
            }
            Value::Object(o) if o.contains_key("contents") => {
                let items = o["contents"]
                    .as_array()
                    .ok_or_else(|| feed_error("contents", "must be an array"))?;
                for (i, item) in items.iter().enumerate() {
                    feed.add(item, &format!("contents[{i}]"), None)?;
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    feed.add(item, &format!("[{i}]"), None)?;
                }
            }
            Value::Object(_) => feed.add(json, "$", None)?,
            _ => return Err(feed_error("$", "a feed is a JSON object or array")),
        }
        if feed.records == 0 {
            return Err(feed_error("$", "the feed holds no record"));
        }
        Ok(feed)
    }

    /// Adds a record of the kind its list names (`services`, …), or, in a list
    /// of one kind, of the kind its fields show.
    fn add(&mut self, item: &Value, path: &str, kind: Option<&str>) -> Result<(), FeedError> {
        let o = item
            .as_object()
            .ok_or_else(|| feed_error(path, "a record is a JSON object"))?;
        self.records += 1;
        let kind = kind.unwrap_or(
            if o.contains_key("status") || o.contains_key("service_at_locations") {
                "services"
            } else if o.get("service").is_some_and(Value::is_object) {
                "service_at_locations"
            } else if o.contains_key("taxonomy_terms") || o.contains_key("version") {
                "taxonomies"
            } else if ["term", "parent_id", "taxonomy_id"]
                .iter()
                .any(|k| o.contains_key(*k))
            {
                "taxonomy_terms"
            } else {
                "organizations"
            },
        );
        if kind == "services" {
            return self.add_service(o, path);
        }
        if kind == "service_at_locations" {
            return self.add_service_at_location(o, path);
        }
        if kind == "taxonomies" {
            let id = string_field(o, "id", path)?;
            string_field(o, "name", path)?;
            let mut t = o.clone();
            if let Some(terms) = t.remove("taxonomy_terms") {
                for (i, term) in terms.as_array().into_iter().flatten().enumerate() {
                    self.add_term(term, &format!("{path}.taxonomy_terms[{i}]"))?;
                }
            }
            self.drop_bad_links(&mut t, path);
            self.taxonomies.insert(id, Value::Object(t));
            return Ok(());
        }
        if kind == "taxonomy_terms" {
            self.records -= 1;
            return self.add_term(item, path);
        }
        let id = string_field(o, "id", path)?;
        string_field(o, "name", path)?;
        let mut org = o.clone();
        check_formats(&org, path)?;
        if let Some(services) = org.remove("services") {
            for (i, s) in services.as_array().into_iter().flatten().enumerate() {
                let p = format!("{path}.services[{i}]");
                let s = s
                    .as_object()
                    .ok_or_else(|| feed_error(&p, "a service is a JSON object"))?;
                let mut s = s.clone();
                s.entry("organization_id").or_insert_with(|| json!(id));
                self.add_service(&s, &p)?;
            }
        }
        org.entry("description").or_insert_with(|| json!(""));
        self.organizations.insert(id, Value::Object(org));
        Ok(())
    }

    /// A service-at-location with its service (`service_at_location_full`): the
    /// service is added (or found) and the location joined to it.
    fn add_service_at_location(
        &mut self,
        o: &Map<String, Value>,
        path: &str,
    ) -> Result<(), FeedError> {
        string_field(o, "id", path)?;
        let service = o["service"].as_object().cloned().unwrap_or_default();
        let sid = string_field(&service, "id", &format!("{path}.service"))?;
        if !self.services.contains_key(&sid) {
            self.add_service(&service, &format!("{path}.service"))?;
        }
        let mut sal = o.clone();
        sal.remove("service");
        sal.insert("service_id".into(), json!(sid));
        if let Some(Value::Object(svc)) = self.services.get_mut(&sid) {
            let list = svc
                .entry("service_at_locations")
                .or_insert_with(|| json!([]));
            if let Value::Array(items) = list {
                items.retain(|i| i["id"] != sal["id"]);
                items.push(Value::Object(sal));
            }
        }
        Ok(())
    }

    /// Removes optional links of a taxonomy or term that are not absolute URLs,
    /// with a warning.
    fn drop_bad_links(&mut self, o: &mut Map<String, Value>, path: &str) {
        for key in ["uri", "term_uri"] {
            if let Some(Value::String(u)) = o.get(key) {
                if !is_url(u) {
                    self.warnings.push(format!(
                        "{path}.{key}: `{u}` is not an absolute URL; dropped"
                    ));
                    o.remove(key);
                }
            }
        }
    }

    fn add_term(&mut self, term: &Value, path: &str) -> Result<(), FeedError> {
        let o = term
            .as_object()
            .ok_or_else(|| feed_error(path, "a taxonomy term is a JSON object"))?;
        self.records += 1;
        let id = string_field(o, "id", path)?;
        string_field(o, "name", path)?;
        let mut t = o.clone();
        t.entry("description").or_insert_with(|| json!(""));
        self.drop_bad_links(&mut t, path);
        self.taxonomy_terms.insert(id, Value::Object(t));
        Ok(())
    }

    fn add_service(&mut self, o: &Map<String, Value>, path: &str) -> Result<(), FeedError> {
        let id = string_field(o, "id", path)?;
        string_field(o, "name", path)?;
        let status = string_field(o, "status", path)?;
        if !SERVICE_STATUSES.contains(&status.as_str()) {
            return Err(feed_error(
                &format!("{path}.status"),
                format!(
                    "`{status}` is not a service status; use one of {}",
                    SERVICE_STATUSES.join(", ")
                ),
            ));
        }
        check_formats(o, path)?;
        for key in ["minimum_age", "maximum_age"] {
            if let Some(v) = o.get(key).filter(|v| !v.is_null()) {
                if !v.as_f64().is_some_and(|a| (0.0..=150.0).contains(&a)) {
                    return Err(feed_error(
                        &format!("{path}.{key}"),
                        "an age is a number of years from 0 to 150",
                    ));
                }
            }
        }
        let mut s = o.clone();
        if let Some(org) = s.get("organization").and_then(Value::as_object).cloned() {
            let org_path = format!("{path}.organization");
            let org_id = string_field(&org, "id", &org_path)?;
            string_field(&org, "name", &org_path)?;
            check_formats(&org, &org_path)?;
            s.insert("organization_id".into(), json!(org_id));
            let mut org = org;
            org.entry("description").or_insert_with(|| json!(""));
            self.organizations
                .entry(org_id)
                .or_insert(Value::Object(org));
        }
        s.remove("organization");
        for (i, a) in o
            .get("attributes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            if let Some(term) = a.get("taxonomy_term").filter(|t| t.is_object()) {
                let p = format!("{path}.attributes[{i}].taxonomy_term");
                let tid = term.get("id").and_then(Value::as_str).map(str::to_owned);
                if let Some(tid) = tid {
                    if !self.taxonomy_terms.contains_key(&tid) {
                        self.add_term(term, &p)?;
                        self.records -= 1;
                    }
                }
            }
        }
        for (i, sal) in o
            .get("service_at_locations")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let p = format!("{path}.service_at_locations[{i}]");
            let sal = sal
                .as_object()
                .ok_or_else(|| feed_error(&p, "a service-at-location is a JSON object"))?;
            string_field(sal, "id", &p)?;
        }
        self.services.insert(id, Value::Object(s));
        Ok(())
    }
}

fn string_field(o: &Map<String, Value>, key: &str, path: &str) -> Result<String, FeedError> {
    match o.get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
        Some(Value::String(_)) => Err(feed_error(&format!("{path}.{key}"), "must not be empty")),
        Some(_) => Err(feed_error(&format!("{path}.{key}"), "must be a string")),
        None => Err(feed_error(&format!("{path}.{key}"), "is required")),
    }
}

fn is_url(u: &str) -> bool {
    (u.starts_with("http://") || u.starts_with("https://")) && u.len() >= 10 && !u.contains(' ')
}

/// The format checks a validator would fail a record on: e-mail addresses and URLs.
fn check_formats(o: &Map<String, Value>, path: &str) -> Result<(), FeedError> {
    for key in ["email", "assurer_email"] {
        if let Some(Value::String(e)) = o.get(key) {
            let ok = e
                .split_once('@')
                .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.ends_with('.'));
            if !ok {
                return Err(feed_error(
                    &format!("{path}.{key}"),
                    format!("`{e}` is not an e-mail address"),
                ));
            }
        }
    }
    for key in ["url", "website", "logo", "uri"] {
        if let Some(Value::String(u)) = o.get(key) {
            if !is_url(u) {
                return Err(feed_error(
                    &format!("{path}.{key}"),
                    format!("`{u}` is not an absolute http(s) URL"),
                ));
            }
        }
    }
    Ok(())
}

fn project(o: &Value, fields: &[&str]) -> Map<String, Value> {
    let mut out = Map::new();
    if let Some(o) = o.as_object() {
        for f in fields {
            if let Some(v) = o.get(*f).filter(|v| !v.is_null()) {
                out.insert((*f).to_owned(), v.clone());
            }
        }
    }
    out
}

/// A filter on the directory: the read API's query parameters, parsed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    pub search: Option<String>,
    pub taxonomy_term_id: Option<String>,
    pub taxonomy_id: Option<String>,
    pub organization_id: Option<String>,
    /// Services open to someone of this age or older (the service's maximum is at least this).
    pub minimum_age: Option<f64>,
    /// Services open to someone of this age or younger (the service's minimum is at most this).
    pub maximum_age: Option<f64>,
    /// Two-letter iCal day (`MO` … `SU`).
    pub day: Option<String>,
    /// `HH:MM[:SS]`: open at or before this time…
    pub start_time: Option<String>,
    /// …and until at least this time.
    pub end_time: Option<String>,
    /// Within `metres` of a point (from a postcode).
    pub near: Option<Near>,
    /// Modified on or after this RFC 3339 time (compared as text, both in UTC).
    pub modified_after: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Near {
    pub lat: f64,
    pub lon: f64,
    pub metres: f64,
}

/// Reads a `day` parameter: `MO`, `monday`, `Mon` → `MO`.
pub fn parse_day(text: &str) -> Option<String> {
    let t = text.trim().to_ascii_uppercase();
    const DAYS: [(&str, &str); 7] = [
        ("MO", "MONDAY"),
        ("TU", "TUESDAY"),
        ("WE", "WEDNESDAY"),
        ("TH", "THURSDAY"),
        ("FR", "FRIDAY"),
        ("SA", "SATURDAY"),
        ("SU", "SUNDAY"),
    ];
    DAYS.iter()
        .find(|(code, name)| t == *code || (t.len() >= 3 && name.starts_with(&t)))
        .map(|(code, _)| (*code).to_owned())
}

/// Reads a time parameter (`09:30`, `9:30:00`) as seconds after midnight.
pub fn parse_time(text: &str) -> Option<u32> {
    let mut parts = text.trim().split(':');
    let h: u32 = parts.next()?.parse().ok()?;
    let m: u32 = parts.next()?.parse().ok()?;
    let s: u32 = match parts.next() {
        Some(s) => s.get(..2).unwrap_or(s).parse().ok()?,
        None => 0,
    };
    (parts.next().is_none() && h < 24 && m < 60 && s < 60).then_some(h * 3600 + m * 60 + s)
}

/// Great-circle distance in metres (haversine, mean Earth radius 6,371,008.8 m).
pub fn distance_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * 6_371_008.8 * a.sqrt().min(1.0).asin()
}

/// The directory: every record, by id.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    pub feed: Feed,
}

impl Directory {
    pub fn new(feed: Feed) -> Directory {
        Directory { feed }
    }

    fn organization_list(&self, id: Option<&str>) -> Option<Value> {
        let org = self.feed.organizations.get(id?)?;
        let mut o = project(org, ORGANIZATION_LIST_FIELDS);
        o.entry("description").or_insert_with(|| json!(""));
        Some(Value::Object(o))
    }

    /// A service as `GET /services` lists it: one-to-one fields and its organisation.
    pub fn service_list_item(&self, service: &Value) -> Value {
        let mut o = project(service, SERVICE_LIST_FIELDS);
        if let Some(org) = self.organization_list(service["organization_id"].as_str()) {
            o.insert("organization".into(), org);
        }
        Value::Object(o)
    }

    /// A service as `GET /services/{id}` answers it: the whole document, with
    /// its organisation and each attribute's taxonomy term filled in.
    pub fn service_full(&self, id: &str) -> Option<Value> {
        let s = self.feed.services.get(id)?;
        let mut o = s.as_object()?.clone();
        if let Some(org) = self.organization_list(s["organization_id"].as_str()) {
            o.insert("organization".into(), org);
        }
        if let Some(Value::Array(attrs)) = o.get_mut("attributes") {
            for a in attrs.iter_mut() {
                let term_id = a["taxonomy_term_id"].as_str().map(str::to_owned);
                if let (Some(map), Some(tid)) = (a.as_object_mut(), term_id) {
                    if !map.contains_key("taxonomy_term") {
                        if let Some(t) = self.feed.taxonomy_terms.get(&tid) {
                            map.insert("taxonomy_term".into(), t.clone());
                        }
                    }
                }
            }
        }
        Some(Value::Object(o))
    }

    /// Every service-at-location of every service, as `(service, its index)`.
    fn sals(&self) -> impl Iterator<Item = (&Value, &Value)> {
        self.feed.services.values().flat_map(|s| {
            s["service_at_locations"]
                .as_array()
                .into_iter()
                .flatten()
                .map(move |sal| (s, sal))
        })
    }

    /// A service-at-location as listed (and, with `full`, as `GET /service_at_locations/{id}`
    /// answers it, location in full).
    fn sal_item(&self, service: &Value, sal: &Value, full: bool) -> Value {
        let mut o = Map::new();
        o.insert("id".into(), sal["id"].clone());
        o.insert("service_id".into(), service["id"].clone());
        let location = &sal["location"];
        let location_id = sal
            .get("location_id")
            .filter(|v| v.is_string())
            .or_else(|| location.get("id"))
            .cloned();
        if let Some(lid) = location_id {
            o.insert("location_id".into(), lid);
        }
        if location.is_object() {
            let l = if full {
                location.as_object().cloned().unwrap_or_default()
            } else {
                project(location, LOCATION_LIST_FIELDS)
            };
            o.insert("location".into(), Value::Object(l));
        }
        o.insert("service".into(), self.service_list_item(service));
        Value::Object(o)
    }

    pub fn service_at_location_full(&self, id: &str) -> Option<Value> {
        self.sals()
            .find(|(_, sal)| sal["id"].as_str() == Some(id))
            .map(|(s, sal)| self.sal_item(s, sal, true))
    }

    fn service_terms<'a>(&self, s: &'a Value) -> Vec<&'a str> {
        s["attributes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| {
                a["taxonomy_term_id"]
                    .as_str()
                    .or_else(|| a["taxonomy_term"]["id"].as_str())
            })
            .collect()
    }

    fn term_taxonomy(&self, term_id: &str) -> Option<&str> {
        self.feed
            .taxonomy_terms
            .get(term_id)
            .and_then(|t| t["taxonomy_id"].as_str().or_else(|| t["taxonomy"].as_str()))
    }

    /// Whether a service passes the filters that concern the service itself.
    fn service_matches(&self, s: &Value, q: &Query) -> bool {
        if let Some(text) = q.search.as_deref().map(str::to_lowercase) {
            let terms = self.service_terms(s);
            let term_names = terms
                .iter()
                .filter_map(|t| self.feed.taxonomy_terms.get(*t))
                .filter_map(|t| t["name"].as_str());
            let found = [s["name"].as_str(), s["description"].as_str()]
                .into_iter()
                .flatten()
                .chain(term_names)
                .any(|t| t.to_lowercase().contains(&text));
            if !found {
                return false;
            }
        }
        if let Some(t) = &q.taxonomy_term_id {
            if !self.service_terms(s).contains(&t.as_str()) {
                return false;
            }
        }
        if let Some(tax) = &q.taxonomy_id {
            if !self
                .service_terms(s)
                .iter()
                .any(|t| self.term_taxonomy(t) == Some(tax.as_str()))
            {
                return false;
            }
        }
        if let Some(org) = &q.organization_id {
            if s["organization_id"].as_str() != Some(org.as_str()) {
                return false;
            }
        }
        if let Some(age) = q.minimum_age {
            if s["maximum_age"].as_f64().is_some_and(|max| max < age) {
                return false;
            }
        }
        if let Some(age) = q.maximum_age {
            if s["minimum_age"].as_f64().is_some_and(|min| min > age) {
                return false;
            }
        }
        if q.day.is_some() || q.start_time.is_some() || q.end_time.is_some() {
            let mut schedules: Vec<&Value> =
                s["schedules"].as_array().into_iter().flatten().collect();
            for (_, sal) in self.sals().filter(|(svc, _)| svc["id"] == s["id"]) {
                schedules.extend(sal["schedules"].as_array().into_iter().flatten());
            }
            if !schedules.iter().any(|sch| schedule_matches(sch, q)) {
                return false;
            }
        }
        if let Some(after) = &q.modified_after {
            if s["last_modified"]
                .as_str()
                .is_none_or(|m| m < after.as_str())
            {
                return false;
            }
        }
        true
    }

    fn sal_near(sal: &Value, near: &Near) -> bool {
        let l = &sal["location"];
        match (l["latitude"].as_f64(), l["longitude"].as_f64()) {
            (Some(lat), Some(lon)) => distance_m(near.lat, near.lon, lat, lon) <= near.metres,
            _ => false,
        }
    }

    /// `GET /services`: list items of every matching service, by name then id.
    pub fn services(&self, q: &Query) -> Vec<Value> {
        let mut found: Vec<&Value> = self
            .feed
            .services
            .values()
            .filter(|s| self.service_matches(s, q))
            .filter(|s| {
                q.near.is_none_or(|near| {
                    s["service_at_locations"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|sal| Directory::sal_near(sal, &near))
                })
            })
            .collect();
        found.sort_by(|a, b| {
            (a["name"].as_str(), a["id"].as_str()).cmp(&(b["name"].as_str(), b["id"].as_str()))
        });
        found
            .into_iter()
            .map(|s| self.service_list_item(s))
            .collect()
    }

    /// `GET /service_at_locations`: matching service-at-locations, nearest first
    /// when a point is given.
    pub fn service_at_locations(&self, q: &Query) -> Vec<Value> {
        let mut found: Vec<(f64, &Value, &Value)> = self
            .sals()
            .filter(|(s, _)| self.service_matches(s, q))
            .filter_map(|(s, sal)| match q.near {
                None => Some((0.0, s, sal)),
                Some(near) => {
                    let l = &sal["location"];
                    let d = distance_m(
                        near.lat,
                        near.lon,
                        l["latitude"].as_f64()?,
                        l["longitude"].as_f64()?,
                    );
                    (d <= near.metres).then_some((d, s, sal))
                }
            })
            .collect();
        found.sort_by(|a, b| {
            a.0.total_cmp(&b.0)
                .then_with(|| a.1["name"].as_str().cmp(&b.1["name"].as_str()))
                .then_with(|| a.2["id"].as_str().cmp(&b.2["id"].as_str()))
        });
        found
            .into_iter()
            .map(|(_, s, sal)| self.sal_item(s, sal, false))
            .collect()
    }

    pub fn taxonomies(&self, search: Option<&str>) -> Vec<Value> {
        let text = search.map(str::to_lowercase);
        self.feed
            .taxonomies
            .values()
            .filter(|t| {
                text.as_deref().is_none_or(|x| {
                    t["name"]
                        .as_str()
                        .is_some_and(|n| n.to_lowercase().contains(x))
                })
            })
            .map(|t| {
                let mut o = t.as_object().cloned().unwrap_or_default();
                o.entry("description").or_insert_with(|| json!(""));
                Value::Object(o)
            })
            .collect()
    }

    /// A taxonomy with its terms.
    pub fn taxonomy(&self, id: &str) -> Option<Value> {
        let t = self.feed.taxonomies.get(id)?;
        let mut o = t.as_object()?.clone();
        o.entry("description").or_insert_with(|| json!(""));
        Some(Value::Object(o))
    }

    /// Terms, optionally of one taxonomy, optionally whose name holds `search`.
    pub fn taxonomy_terms(&self, taxonomy_id: Option<&str>, search: Option<&str>) -> Vec<Value> {
        let text = search.map(str::to_lowercase);
        self.feed
            .taxonomy_terms
            .iter()
            .filter(|(id, _)| taxonomy_id.is_none_or(|tax| self.term_taxonomy(id) == Some(tax)))
            .filter(|(_, t)| {
                text.as_deref().is_none_or(|x| {
                    t["name"]
                        .as_str()
                        .is_some_and(|n| n.to_lowercase().contains(x))
                })
            })
            .map(|(_, t)| t.clone())
            .collect()
    }

    /// The directory as one feed [`Feed::parse`] reads back.
    pub fn export(&self) -> Value {
        let all = |m: &BTreeMap<String, Value>| Value::Array(m.values().cloned().collect());
        json!({
            "version": VERSION,
            "organizations": all(&self.feed.organizations),
            "services": all(&self.feed.services),
            "taxonomies": all(&self.feed.taxonomies),
            "taxonomy_terms": all(&self.feed.taxonomy_terms),
        })
    }
}

fn schedule_matches(sch: &Value, q: &Query) -> bool {
    if let Some(day) = &q.day {
        let days = sch["byday"].as_str().unwrap_or("");
        // `2MO`, `-1FR`: the day is the last two letters of each part.
        if !days
            .split(',')
            .any(|d| d.trim().to_ascii_uppercase().ends_with(day.as_str()))
        {
            return false;
        }
    }
    let opens = sch["opens_at"].as_str().and_then(parse_time);
    let closes = sch["closes_at"].as_str().and_then(parse_time);
    if let Some(start) = q.start_time.as_deref().and_then(parse_time) {
        if opens.is_none_or(|o| o > start) || closes.is_none_or(|c| c <= start) {
            return false;
        }
    }
    if let Some(end) = q.end_time.as_deref().and_then(parse_time) {
        if closes.is_none_or(|c| c < end) || opens.is_none_or(|o| o >= end) {
            return false;
        }
    }
    true
}

/// A page of `items` in the standard's envelope. `page` counts from 1.
pub fn page(items: Vec<Value>, page: usize, per_page: usize) -> Value {
    let total = items.len();
    let per_page = per_page.max(1);
    let pages = total.div_ceil(per_page).max(1);
    let contents: Vec<Value> = items
        .into_iter()
        .skip((page.max(1) - 1) * per_page)
        .take(per_page)
        .collect();
    json!({
        "total_items": total,
        "total_pages": pages,
        "page_number": page,
        "size": contents.len(),
        "first_page": page <= 1,
        "last_page": page >= pages,
        "empty": contents.is_empty(),
        "contents": contents,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed() -> Feed {
        Feed::parse(&json!({
            "organizations": [{"id": "o1", "name": "Warm Homes CIC", "description": "d", "website": "https://warm.example.org"}],
            "taxonomies": [{"id": "tx", "name": "Needs", "description": "", "taxonomy_terms": [
                {"id": "t-cold", "name": "Cold home", "description": "", "taxonomy_id": "tx"}
            ]}],
            "services": [
                {"id": "s1", "name": "Boiler grants", "status": "active", "organization_id": "o1",
                 "minimum_age": 18, "maximum_age": 120,
                 "attributes": [{"id": "a1", "taxonomy_term_id": "t-cold", "link_type": "service"}],
                 "schedules": [{"id": "sc1", "byday": "MO,TU", "opens_at": "09:00", "closes_at": "17:00"}],
                 "service_at_locations": [{"id": "sal1", "location": {"id": "l1", "name": "Hub", "latitude": 52.0, "longitude": -1.0}}]},
                {"id": "s2", "name": "Youth club", "status": "active", "minimum_age": 11, "maximum_age": 18,
                 "service_at_locations": [{"id": "sal2", "location": {"id": "l2", "latitude": 53.0, "longitude": -1.0}}]}
            ]
        }))
        .unwrap()
    }

    #[test]
    fn filters() {
        let d = Directory::new(feed());
        let ids = |items: Vec<Value>| -> Vec<String> {
            items
                .iter()
                .map(|i| i["id"].as_str().unwrap().to_owned())
                .collect()
        };
        let q = |f: fn(&mut Query)| {
            let mut q = Query::default();
            f(&mut q);
            q
        };
        assert_eq!(ids(d.services(&Query::default())), ["s1", "s2"]);
        assert_eq!(
            ids(d.services(&q(|q| q.search = Some("cold".into())))),
            ["s1"]
        );
        assert_eq!(
            ids(d.services(&q(|q| q.taxonomy_id = Some("tx".into())))),
            ["s1"]
        );
        assert_eq!(ids(d.services(&q(|q| q.minimum_age = Some(30.0)))), ["s1"]);
        assert_eq!(ids(d.services(&q(|q| q.maximum_age = Some(12.0)))), ["s2"]);
        assert_eq!(ids(d.services(&q(|q| q.day = Some("TU".into())))), ["s1"]);
        assert!(d.services(&q(|q| q.day = Some("WE".into()))).is_empty());
        assert_eq!(
            ids(d.services(&q(|q| {
                q.start_time = Some("10:00".into());
                q.end_time = Some("16:30".into());
            }))),
            ["s1"]
        );
        let near = Near {
            lat: 52.01,
            lon: -1.0,
            metres: 5000.0,
        };
        let sals = d.service_at_locations(&Query {
            near: Some(near),
            ..Query::default()
        });
        assert_eq!(ids(sals), ["sal1"]);
        // The list projection carries the organisation, not the nested arrays.
        let item = &d.services(&Query::default())[0];
        assert_eq!(item["organization"]["name"], "Warm Homes CIC");
        assert!(item.get("schedules").is_none());
        let full = d.service_full("s1").unwrap();
        assert_eq!(full["attributes"][0]["taxonomy_term"]["name"], "Cold home");
        assert_eq!(parse_day("monday").as_deref(), Some("MO"));
        assert_eq!(parse_time("9:30"), Some(34200));
        assert_eq!(parse_time("25:00"), None);
    }

    #[test]
    fn export_reads_back_the_same() {
        let d = Directory::new(feed());
        let again = Feed::parse(&d.export()).unwrap();
        assert_eq!(again.services, d.feed.services);
        assert_eq!(again.organizations, d.feed.organizations);
        assert_eq!(again.taxonomy_terms, d.feed.taxonomy_terms);
    }

    #[test]
    fn bad_records_are_refused_with_their_path() {
        let e = Feed::parse(&json!({"services": [{"id": "s", "name": "x", "status": "open"}]}))
            .unwrap_err();
        assert_eq!(e.path, "services[0].status");
        let e =
            Feed::parse(&json!([{"id": "s", "name": "x", "status": "active", "email": "a-b_c"}]))
                .unwrap_err();
        assert_eq!(e.path, "[0].email");
        let e = Feed::parse(&json!({"contents": [{"name": "x", "status": "active"}]})).unwrap_err();
        assert_eq!(e.to_string(), "contents[0].id: is required");
        assert!(Feed::parse(&json!([])).is_err());
    }

    #[test]
    fn pages() {
        let items: Vec<Value> = (0..5).map(|i| json!(i)).collect();
        let p = page(items.clone(), 3, 2);
        assert_eq!(p["size"], 1);
        assert_eq!(p["last_page"], true);
        assert_eq!(p["total_pages"], 3);
        let p = page(items.clone(), 1, 2);
        assert_eq!(
            (p["first_page"].as_bool(), p["last_page"].as_bool()),
            (Some(true), Some(false))
        );
        let p = page(items, 9, 2);
        assert_eq!(p["empty"], true);
        let p = page(Vec::new(), 1, 10);
        assert_eq!(
            (p["total_pages"].as_u64(), p["empty"].as_bool()),
            (Some(1), Some(true))
        );
        assert!(distance_m(52.0, -1.0, 52.0, -1.0) < 1e-6);
        assert!((distance_m(52.0, -1.0, 53.0, -1.0) - 111_195.0).abs() < 100.0);
    }
}

//! Partners' organisations and profiles.

use super::*;

// --- partners ---------------------------------------------------------------

/// A partner organisation, as its sheet gives it.
#[derive(Debug, Clone, PartialEq)]
pub struct PartnerRow {
    pub id: String,
    pub name: String,
    pub sector: Sector,
    pub sub_type: Option<String>,
    pub employees: Option<u64>,
    pub size_band: Option<SizeBand>,
    pub local_employee_share: Option<f64>,
    pub address: Option<String>,
    pub postcode: Option<String>,
    pub area: Option<AreaCode>,
    pub charity_number: Option<String>,
    pub company_number: Option<String>,
    pub anchor: bool,
    /// The partnership it joins, and as what (optional).
    pub partnership: Option<String>,
    pub member_role: Option<MemberRole>,
}

pub(super) const PARTNER_COLUMNS: &[Column] = &[
    req("id", &["organisation id", "org id", "code"]),
    req("name", &["organisation", "organisation name"]),
    req("sector", &[]),
    opt("sub_type", &["subtype", "type"]),
    opt("employees", &["employee count", "staff"]),
    opt("size_band", &["size"]),
    opt(
        "local_employee_share",
        &[
            "employees living locally",
            "local employees %",
            "local share",
        ],
    ),
    opt("address", &[]),
    opt("postcode", &["post code"]),
    opt("area", &["lsoa", "area code", "lsoa11cd"]),
    opt(
        "charity_number",
        &["charity no", "registered charity number"],
    ),
    opt("company_number", &["company no", "companies house number"]),
    opt("anchor", &["anchor institution"]),
    opt("partnership", &["partnership id"]),
    opt("member_role", &["role"]),
];

pub fn partners_template() -> Vec<&'static str> {
    template(PARTNER_COLUMNS)
}

pub(super) fn id_like(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 64
        && v.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

pub fn read_partners(sheet: &Sheet) -> Result<Vec<PartnerRow>, LayoutError> {
    let mut seen = std::collections::HashMap::new();
    read_rows(sheet, PARTNER_COLUMNS, |r| {
        let id = r.need("id");
        if !id.is_empty() && !id_like(&id) {
            r.fail("id", format!("`{id}` is not an id: use lower-case letters, digits and hyphens (e.g. hartmoor-fire)"));
        }
        if let Some(first) = seen.insert(id.clone(), r.line) {
            r.fail(
                "id",
                format!("`{id}` is already on line {first}: each organisation once"),
            );
        }
        let name = r.need("name");
        let sector_text = r.need("sector");
        let sector = Sector::from_code(&sector_text);
        if sector.is_none() && !sector_text.is_empty() {
            let codes: Vec<_> = Sector::ALL.iter().map(|s| s.code()).collect();
            r.fail(
                "sector",
                format!(
                    "`{sector_text}` is not a sector: one of {}",
                    codes.join(", ")
                ),
            );
        }
        let sub_type = Some(r.text("sub_type").to_ascii_lowercase().replace(' ', "-"))
            .filter(|s| !s.is_empty());
        if let (Some(s), Some(t)) = (sector, &sub_type) {
            if !s.sub_types().contains(&t.as_str()) {
                r.fail(
                    "sub_type",
                    format!(
                        "`{t}` is not a kind of {}: one of {}",
                        s.label().to_lowercase(),
                        s.sub_types().join(", ")
                    ),
                );
            }
        }
        let employees = r.count("employees");
        let band = r.parse(
            "size_band",
            "a size band (micro, small, medium, large)",
            SizeBand::parse,
        );
        if let (Some(n), Some(b)) = (employees, band) {
            if SizeBand::of_employees(n) != b {
                r.fail(
                    "size_band",
                    format!(
                        "{n} employees make a {} employer, not {}",
                        SizeBand::of_employees(n).code(),
                        b.code()
                    ),
                );
            }
        }
        let local_employee_share = r.share("local_employee_share");
        let area = r.area("area");
        let anchor = r.yes_no("anchor").unwrap_or(false);
        let partnership = Some(r.text("partnership")).filter(|s| !s.is_empty());
        let member_role = r.parse("member_role", "lead or member", MemberRole::from_code);
        let opt_text = |r: &Row<'_, '_>, n: &str| Some(r.text(n)).filter(|s| !s.is_empty());
        Some(PartnerRow {
            id,
            name,
            sector: sector?,
            sub_type,
            employees,
            size_band: band.or(employees.map(SizeBand::of_employees)),
            local_employee_share,
            address: opt_text(r, "address"),
            postcode: opt_text(r, "postcode"),
            area,
            charity_number: opt_text(r, "charity_number"),
            company_number: opt_text(r, "company_number"),
            anchor,
            partnership,
            member_role,
        })
    })
}

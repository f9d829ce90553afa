//! Business lists, ONS UK Business Counts, anchor measures and social value.

use super::*;

// --- businesses --------------------------------------------------------------

/// A business from a list (a business rates list, a partner's own list).
#[derive(Debug, Clone, PartialEq)]
pub struct BusinessRow {
    pub name: String,
    pub company_number: Option<String>,
    pub sic_code: Option<String>,
    pub size_band: SizeBand,
    pub employees: Option<u64>,
    pub local_employees: Option<u64>,
    pub postcode: Option<String>,
    pub area: Option<AreaCode>,
}

pub(super) const BUSINESS_COLUMNS: &[Column] = &[
    req("name", &["business name", "company name", "ratepayer"]),
    opt(
        "company_number",
        &["company no", "companies house number", "crn"],
    ),
    opt("sic_code", &["sic", "sic 2007", "industry code"]),
    opt("size_band", &["size", "employment size band"]),
    opt("employees", &["employee count", "staff"]),
    opt("local_employees", &["employees living locally"]),
    opt("postcode", &["post code"]),
    opt("area", &["lsoa", "area code", "lsoa11cd"]),
];

pub fn businesses_template() -> Vec<&'static str> {
    template(BUSINESS_COLUMNS)
}

pub fn read_businesses(sheet: &Sheet) -> Result<Vec<BusinessRow>, LayoutError> {
    read_rows(sheet, BUSINESS_COLUMNS, |r| {
        let name = r.need("name");
        let employees = r.count("employees");
        let local_employees = r.count("local_employees");
        if let (Some(n), Some(l)) = (employees, local_employees) {
            if l > n {
                r.fail(
                    "local_employees",
                    format!("{l} local employees is more than the {n} employees"),
                );
            }
        }
        let band = r.parse(
            "size_band",
            "a size band (micro, small, medium, large)",
            SizeBand::parse,
        );
        let size_band = match (band, employees) {
            (Some(b), Some(n)) if SizeBand::of_employees(n) != b => {
                r.fail(
                    "size_band",
                    format!(
                        "{n} employees make a {} business, not {}",
                        SizeBand::of_employees(n).code(),
                        b.code()
                    ),
                );
                None
            }
            (Some(b), _) => Some(b),
            (None, Some(n)) => Some(SizeBand::of_employees(n)),
            (None, None) => {
                r.fail(
                    "size_band",
                    "give the size band or the number of employees".into(),
                );
                None
            }
        };
        let sic_code = Some(r.text("sic_code")).filter(|s| !s.is_empty());
        if let Some(s) = &sic_code {
            if !(4..=5).contains(&s.len()) || !s.chars().all(|c| c.is_ascii_digit()) {
                r.fail(
                    "sic_code",
                    format!("`{s}` is not a SIC 2007 code: four or five digits, e.g. 86210"),
                );
            }
        }
        let company_number =
            Some(r.text("company_number").to_ascii_uppercase()).filter(|s| !s.is_empty());
        if let Some(c) = &company_number {
            if c.len() != 8 || !c.chars().all(|c| c.is_ascii_alphanumeric()) {
                r.fail("company_number", format!("`{c}` is not a Companies House number: eight characters, e.g. 01234567 or SC123456"));
            }
        }
        let postcode = Some(r.text("postcode")).filter(|s| !s.is_empty());
        let area = r.area("area");
        Some(BusinessRow {
            name,
            company_number,
            sic_code,
            size_band: size_band?,
            employees,
            local_employees,
            postcode,
            area,
        })
    })
}

/// One cell of ONS UK Business Counts: enterprises or local units in an area, of
/// one employment size band and industry.
#[derive(Debug, Clone, PartialEq)]
pub struct BusinessCountRow {
    pub area: AreaCode,
    pub year: i32,
    /// `enterprises` or `local-units`.
    pub unit: String,
    pub size_band: SizeBand,
    /// The band as published (`10 to 19`).
    pub band_text: String,
    pub industry: String,
    pub count: u64,
}

pub(super) const COUNT_COLUMNS: &[Column] = &[
    req(
        "area",
        &["geography code", "geography_code", "area code", "mnemonic"],
    ),
    req("year", &["date", "date name", "period"]),
    opt("unit", &["measure", "units", "dataset"]),
    req(
        "size_band",
        &[
            "employment size band",
            "employment sizeband name",
            "employment size band name",
            "size band",
        ],
    ),
    req(
        "industry",
        &["industry name", "broad industry group", "industry_name"],
    ),
    req("count", &["obs value", "obs_value", "value"]),
];

pub fn business_counts_template() -> Vec<&'static str> {
    template(COUNT_COLUMNS)
}

/// UK Business Counts as downloaded from Nomis (`GEOGRAPHY_CODE`, `DATE`,
/// `EMPLOYMENT_SIZEBAND_NAME`, `INDUSTRY_NAME`, `OBS_VALUE`) or in the template's
/// layout; `unit` says enterprises or local units, and `default_unit` applies when
/// the file has no such column. Total rows (`Total`) are skipped: totals are
/// summed from the parts, so a total cannot disagree with them.
pub fn read_business_counts(
    sheet: &Sheet,
    default_unit: &str,
) -> Result<Vec<BusinessCountRow>, LayoutError> {
    read_rows(sheet, COUNT_COLUMNS, |r| {
        let area = r.area("area");
        if area.is_none() && r.text("area").is_empty() {
            r.fail(
                "area",
                "is empty: every row needs its area's GSS code".into(),
            );
        }
        let year = r.parse("year", "a year", |v| v.get(..4)?.parse::<i32>().ok());
        let unit_text = r.text("unit").to_ascii_lowercase();
        let unit = if unit_text.is_empty() {
            default_unit.to_owned()
        } else if unit_text.contains("local") {
            "local-units".to_owned()
        } else if unit_text.contains("enterprise") {
            "enterprises".to_owned()
        } else {
            r.fail(
                "unit",
                format!("`{unit_text}` is neither enterprises nor local units"),
            );
            String::new()
        };
        let band_text = r.need("size_band");
        let industry = r.need("industry");
        let total = |s: &str| s.to_ascii_lowercase().starts_with("total");
        if total(&band_text) || total(&industry) {
            return None;
        }
        let size_band = r.parse(
            "size_band",
            "an employment size band (0 to 4, 5 to 9, …, 1000+)",
            SizeBand::parse,
        );
        let count = r.count("count");
        if count.is_none() && r.text("count").is_empty() {
            r.fail("count", "is empty: write 0 for none".into());
        }
        Some(BusinessCountRow {
            area: area?,
            year: year?,
            unit,
            size_band: size_band?,
            band_text,
            industry,
            count: count?,
        })
    })
}

// --- anchors ------------------------------------------------------------------

/// One anchor institution's measures for one year.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AnchorRow {
    pub organisation: String,
    pub year: i32,
    pub employees: Option<u64>,
    /// Share of new hires living in the most deprived 20 % of areas nationally.
    pub hired_most_deprived_share: Option<f64>,
    /// Share of spend with suppliers in the place.
    pub local_spend_share: Option<f64>,
    /// Share of spend with SMEs and VCSE organisations.
    pub sme_vcse_spend_share: Option<f64>,
    pub real_living_wage: Option<bool>,
    pub apprenticeships: Option<u64>,
    pub volunteering_hours: Option<f64>,
}

pub(super) const ANCHOR_COLUMNS: &[Column] = &[
    req("organisation", &["organisation id", "org", "org id"]),
    req("year", &["financial year", "period"]),
    opt("employees", &[]),
    opt(
        "hired_most_deprived_share",
        &[
            "hires from most deprived areas",
            "hired from most deprived %",
        ],
    ),
    opt("local_spend_share", &["local spend", "local spend %"]),
    opt(
        "sme_vcse_spend_share",
        &["sme vcse spend", "sme and vcse spend %"],
    ),
    opt(
        "real_living_wage",
        &["living wage employer", "real living wage employer"],
    ),
    opt("apprenticeships", &["apprentices"]),
    opt("volunteering_hours", &["volunteering"]),
];

pub fn anchors_template() -> Vec<&'static str> {
    template(ANCHOR_COLUMNS)
}

pub fn read_anchor_measures(sheet: &Sheet) -> Result<Vec<AnchorRow>, LayoutError> {
    let mut seen = std::collections::HashMap::new();
    read_rows(sheet, ANCHOR_COLUMNS, |r| {
        let organisation = r.need("organisation");
        let year = r.parse("year", "a year (2025, or a financial year 2025/26)", |v| {
            let y: i32 = v.get(..4)?.parse().ok()?;
            (1990..=2100).contains(&y).then_some(y)
        });
        if let Some(y) = year {
            if let Some(first) = seen.insert((organisation.clone(), y), r.line) {
                r.fail("year", format!("{organisation} {y} is already on line {first}: one row per organisation and year"));
            }
        }
        Some(AnchorRow {
            employees: r.count("employees"),
            hired_most_deprived_share: r.share("hired_most_deprived_share"),
            local_spend_share: r.share("local_spend_share"),
            sme_vcse_spend_share: r.share("sme_vcse_spend_share"),
            real_living_wage: r.yes_no("real_living_wage"),
            apprenticeships: r.count("apprenticeships"),
            volunteering_hours: r.number("volunteering_hours"),
            organisation,
            year: year?,
        })
    })
}

/// Social value committed in one contract, in the style of the National TOMs
/// (themes, outcomes and measures, each with a proxy value in pounds per unit):
/// its value is `quantity × proxy value`.
#[derive(Debug, Clone, PartialEq)]
pub struct SocialValueRow {
    pub organisation: String,
    pub year: i32,
    pub contract: String,
    pub theme: String,
    pub outcome: String,
    pub measure: String,
    pub unit: String,
    pub quantity: f64,
    pub proxy_value: f64,
}

impl SocialValueRow {
    pub fn value(&self) -> f64 {
        self.quantity * self.proxy_value
    }
}

pub(super) const SOCIAL_VALUE_COLUMNS: &[Column] = &[
    req("organisation", &["organisation id", "org"]),
    req("year", &["financial year"]),
    req("contract", &["contract name", "contract reference"]),
    req("theme", &[]),
    req("outcome", &[]),
    req("measure", &["measure reference", "toms measure"]),
    opt("unit", &["units"]),
    req("quantity", &["committed", "target quantity"]),
    req("proxy_value", &["proxy value £", "proxy"]),
];

pub fn social_value_template() -> Vec<&'static str> {
    template(SOCIAL_VALUE_COLUMNS)
}

pub fn read_social_value(sheet: &Sheet) -> Result<Vec<SocialValueRow>, LayoutError> {
    read_rows(sheet, SOCIAL_VALUE_COLUMNS, |r| {
        let year = r.parse("year", "a year", |v| v.get(..4)?.parse::<i32>().ok());
        let quantity = r.number("quantity");
        let proxy_value = r.number("proxy_value");
        for (name, v) in [("quantity", quantity), ("proxy_value", proxy_value)] {
            if v.is_some_and(|v| v < 0.0) {
                r.fail(name, "cannot be negative".into());
            }
        }
        Some(SocialValueRow {
            organisation: r.need("organisation"),
            contract: r.need("contract"),
            theme: r.need("theme"),
            outcome: r.need("outcome"),
            measure: r.need("measure"),
            unit: r.text("unit"),
            year: year?,
            quantity: quantity?,
            proxy_value: proxy_value?,
        })
    })
}

//! Community-defined places on the real place (Trafford's 2011 LSOAs and 2019
//! wards from the ONS lookup, IMD 2019), both backends: a list mixing a ward,
//! small areas and a postcode defines the place, all or nothing, every entry that
//! cannot be used named by line; the engine measures it as an area of its own,
//! over exactly its small areas (a place drawn as Trafford's most deprived fifth
//! gets the figures of local quintile 1); its profile, the list page and the
//! command line show it.

use std::fmt::Write as _;
use std::path::Path;

use syndemic_engine::{community_places, compute, ComputeSpec, CountColumns, Counts, Measure};
use syndemic_import::{import_imd, import_lookups, import_postcodes, LookupOptions};
use syndemic_model::{AreaCode, AreaType, Period};
use syndemic_partnership::target::TargetRule;
use syndemic_store::hub::AuditEntry;
use syndemic_store::prelude::*;
use syndemic_testkit::{shared_dir, stores};
use syndemic_voice::{define_place, PlaceDefinition, VoiceError};
use syndemic_web::partnership::resolve_targets;

const TRAFFORD: &str = "E08000009";
/// Urmston ward (2019), in Trafford.
const URMSTON: &str = "E05000838";

async fn import(store: &syndemic_store::SqlStore, shared: &Path, dir: &Path) {
    let data = shared.join("data");
    import_lookups(
        store,
        &data.join("ons-lookups-jtrim/LSOA11_to_WD19_LAD19_lookup_EW.csv"),
        &LookupOptions::default(),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    import_imd(
        store,
        &data.join("iod2019-energy_flex/File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv.gz"),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    // Two postcodes: one in Trafford 008D, one in Manchester 029B.
    let nspl = dir.join("nspl.csv");
    std::fs::write(
        &nspl,
        "pcds,lsoa11,lat,long\nM41 0AA,E01006184,53.45,-2.35\nM21 0AA,E01005151,53.44,-2.28\n",
    )
    .unwrap();
    import_postcodes(store, &nspl)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

fn audit() -> AuditEntry {
    AuditEntry {
        at: 1_767_225_600,
        actor: "test".into(),
        org: String::new(),
        action: "create".into(),
        subject: "community place".into(),
        record: String::new(),
        reason: "test".into(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_community_defines_its_place_and_the_engine_measures_it_on_the_real_place() {
    let test = "a_community_defines_its_place_and_the_engine_measures_it_on_the_real_place";
    let Some(shared) = shared_dir(test) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let trafford = AreaCode::parse(TRAFFORD).unwrap();
    for store in stores(test, dir.path()).await {
        let backend = store.backend_name();
        import(&store, &shared, dir.path()).await;
        let definition = |list: &'static str, name: &'static str| PlaceDefinition {
            name,
            description: "The streets the residents' association speaks for",
            list,
            chosen_by: "postcodes",
            place: trafford,
            partnership_id: None,
        };
        // A list with a postcode in Manchester, a line that is nothing, and a
        // district: every problem named by line, nothing kept.
        let bad = "E05000838\nE01006206\nM21 0AA\nnear the canal\nE08000009\n";
        match define_place(&store, &definition(bad, "Urmston and around"), &audit(), 1).await {
            Err(VoiceError::Community(problems)) => {
                assert_eq!(problems.len(), 3, "{backend}: {problems:?}");
                assert!(
                    problems[0].starts_with("line 3: `M21 0AA`")
                        && problems[0].contains("E01005151")
                        && problems[0].contains("outside"),
                    "{backend}: {problems:?}"
                );
                assert!(
                    problems[1].starts_with("line 4: `near the canal`"),
                    "{problems:?}"
                );
                assert!(
                    problems[2].starts_with("line 5: `E08000009`")
                        && problems[2].contains("metropolitan district"),
                    "{problems:?}"
                );
            }
            other => panic!("{backend}: {other:?}"),
        }
        assert!(
            store.community_places().await.unwrap().is_empty(),
            "{backend}"
        );
        assert!(store
            .areas_of_type(AreaType::Community)
            .await
            .unwrap()
            .is_empty());

        // The corrected list: the ward, two small areas on one line, a postcode.
        let good = "E05000838\nE01006206, E01006207\n\nm41 0aa\n";
        let code = define_place(&store, &definition(good, "Urmston and around"), &audit(), 1)
            .await
            .unwrap_or_else(|e| panic!("{backend}: {e}"));
        assert_eq!(code.as_str(), "E99000001", "{backend}");
        let urmston = syndemic_place::small_areas_within(&store, AreaCode::parse(URMSTON).unwrap())
            .await
            .unwrap();
        assert!(
            urmston.len() >= 5,
            "{backend}: Urmston has {}",
            urmston.len()
        );
        let mut expected: Vec<AreaCode> = urmston.clone();
        for extra in ["E01006206", "E01006207", "E01006184"] {
            expected.push(AreaCode::parse(extra).unwrap());
        }
        expected.sort();
        expected.dedup();
        let places = store.community_places().await.unwrap();
        assert_eq!(places.len(), 1);
        assert_eq!(places[0].areas, expected, "{backend}");
        assert_eq!(
            places[0].within, trafford,
            "{backend}: the smallest area holding it"
        );
        assert_eq!(places[0].name, "Urmston and around");
        // Its small areas are what lies below it, as for any area.
        assert_eq!(
            store.descendants(code).await.unwrap(),
            expected,
            "{backend}"
        );
        let info = store.area(code).await.unwrap().unwrap();
        assert_eq!(info.area_type, AreaType::Community);

        // A second place drawn as Trafford's most deprived fifth.
        let rule = format!("local-quintile:{TRAFFORD}:1");
        let fifth = resolve_targets(&store, &TargetRule::parse(&rule).unwrap())
            .await
            .unwrap();
        let list: String = fifth.iter().map(|c| format!("{c}\n")).collect();
        let list: &'static str = Box::leak(list.into_boxed_str());
        let second = define_place(&store, &definition(list, "The fifth"), &audit(), 2)
            .await
            .unwrap_or_else(|e| panic!("{backend}: {e}"));
        assert_eq!(second.as_str(), "E99000002", "{backend}");

        // Events and people in each of Trafford's small areas, two years.
        let lsoas = syndemic_place::small_areas_within(&store, trafford)
            .await
            .unwrap();
        assert_eq!(lsoas.len(), 138, "{backend}");
        let mut text = String::from("area,year,events,people\n");
        let mut events_in = std::collections::BTreeMap::new();
        for (i, lsoa) in lsoas.iter().enumerate() {
            for year in [2020, 2021] {
                let people = 1200 + (i * 37) % 500;
                let events = 3 + (i * 11 + year) % 17;
                writeln!(text, "{lsoa},{year},{events},{people}").unwrap();
                events_in.insert((*lsoa, year as i32), events as f64);
            }
        }
        let counts = dir.path().join(format!("{backend}-events.csv"));
        std::fs::write(&counts, text).unwrap();
        let mut indicator = syndemic_store::Indicator::named("events", "Events");
        indicator.polarity = Some(syndemic_store::Polarity::LowerIsBetter);
        let spec = ComputeSpec {
            measure: Measure::Rate,
            indicator,
            counts: Counts::File(counts),
            columns: CountColumns {
                area: "area".into(),
                period: "year".into(),
                sex: None,
                age_band: None,
                count: "events".into(),
                population: "people".into(),
            },
            vintage: "2019".into(),
            counts_vintage: None,
            apportion_by: None,
            population: None,
            edition: "IoD2019".into(),
            repetitions: 1000,
            seed: 1,
            benchmark: None,
            targets: community_places(&store).await.unwrap(),
        };
        compute(&store, &spec, &mut |_| {})
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let all = store.observations(Some("events")).await.unwrap();
        for year in [2020, 2021] {
            let period = Period::Year(year);
            let of = |area: AreaCode, category_type: &str| {
                all.iter()
                    .find(|o| {
                        o.area == area && o.period == period && o.category_type == category_type
                    })
                    .unwrap_or_else(|| panic!("{backend}: no {area} {category_type} in {year}"))
            };
            let place = of(code, "");
            let sum: f64 = expected.iter().map(|a| events_in[&(*a, year)]).sum();
            assert_eq!(place.count, Some(sum), "{backend} {year}");
            assert!(place.lower95 < place.value && place.value < place.upper95);
            assert!(
                place.compared_to_parent.is_some(),
                "{backend}: compared with Trafford"
            );
            assert!(place.category.is_empty());
            let drawn = of(second, "");
            let quintile = of(trafford, "IMD 2019 local quintile");
            let quintile = all
                .iter()
                .find(|o| {
                    o.area == trafford
                        && o.period == period
                        && o.category_type == quintile.category_type
                        && o.category == "1"
                })
                .unwrap();
            assert_eq!(
                (
                    drawn.count,
                    drawn.denominator,
                    drawn.value,
                    drawn.lower95,
                    drawn.upper95
                ),
                (
                    quintile.count,
                    quintile.denominator,
                    quintile.value,
                    quintile.lower95,
                    quintile.upper95
                ),
                "{backend} {year}: the place drawn as the fifth is the first local quintile"
            );
        }
        // No row is filed as a target group: a community place is an area.
        assert!(!all
            .iter()
            .any(|o| o.category_type == syndemic_model::TARGET_AREAS));
        // Refused while a survey covers it: the first place stays.
        let survey = syndemic_store::partnership::SurveyRecord {
            id: "survey-urmston".into(),
            slug: "urmston-voices".into(),
            title: "Urmston voices".into(),
            definition: "{}".into(),
            place: code.to_string(),
            open_wave: None,
            partnership_id: None,
            created_at: 1,
        };
        store.put_survey(&survey, &audit()).await.unwrap();
        assert_eq!(
            store.remove_place(code, &audit()).await.unwrap(),
            syndemic_store::partnership::Removal::InUse("survey urmston-voices covers it".into()),
            "{backend}"
        );
        // Removing the second place takes its values with it, and nothing else.
        let removal = store.remove_place(second, &audit()).await.unwrap();
        assert_eq!(removal, syndemic_store::partnership::Removal::Removed);
        let after = store.observations(Some("events")).await.unwrap();
        assert!(!after.iter().any(|o| o.area == second), "{backend}");
        assert_eq!(
            after.len() + 2,
            all.len(),
            "{backend}: two years of it, no more"
        );
        assert!(store.area(second).await.unwrap().is_none());
        assert_eq!(store.community_places().await.unwrap().len(), 1);
    }
}

#[test]
fn the_command_line_defines_and_lists_a_community_place() {
    let Some(shared) = shared_dir("the_command_line_defines_and_lists_a_community_place") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    let db = db.to_str().unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_syndemic"))
            .args(args)
            .output()
            .unwrap();
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let lookup = shared.join("data/ons-lookups-jtrim/LSOA11_to_WD19_LAD19_lookup_EW.csv");
    let (ok, text) = run(&["import", "lookups", lookup.to_str().unwrap(), "--db", db]);
    assert!(ok, "{text}");
    let list = dir.path().join("areas.txt");
    std::fs::write(&list, "E05000838\nE01005151\n").unwrap();
    let args = [
        "community",
        "define",
        "--name",
        "Urmston",
        "--place",
        TRAFFORD,
        "--areas",
        list.to_str().unwrap(),
        "--db",
        db,
    ];
    let (ok, text) = run(&args);
    assert!(!ok, "{text}");
    assert!(
        text.contains("areas.txt: the community place was not kept")
            && text.contains("line 2: `E01005151`")
            && text.contains("outside"),
        "{text}"
    );
    let (ok, text) = run(&["community", "list", "--db", db]);
    assert!(ok && text.contains("no community places"), "{text}");
    std::fs::write(&list, "E05000838\n").unwrap();
    let (ok, text) = run(&args);
    assert!(
        ok && text.contains("defined community place E99000001 (Urmston)"),
        "{text}"
    );
    let (ok, text) = run(&["community", "list", "--db", db]);
    assert!(ok, "{text}");
    assert!(
        text.contains("E99000001\tUrmston\t") && text.contains(&format!("within {TRAFFORD}")),
        "{text}"
    );
    // Removed, its code is never given again.
    let (ok, text) = run(&["community", "remove", "E99000001", "--db", db]);
    assert!(
        ok && text.contains("removed community place E99000001"),
        "{text}"
    );
    let (ok, text) = run(&["community", "remove", "E99000001", "--db", db]);
    assert!(!ok && text.contains("no such community place"), "{text}");
    let (ok, text) = run(&["community", "remove", TRAFFORD, "--db", db]);
    assert!(
        !ok && text.contains("not a community place's code"),
        "{text}"
    );
    let (ok, text) = run(&args);
    assert!(
        ok && text.contains("defined community place E99000002"),
        "{text}"
    );
    let (ok, text) = run(&["community", "list", "--db", db]);
    assert!(ok && !text.contains("E99000001"), "{text}");
}

/// A community group's sheet of assets: a kind that is not one and a postcode
/// not in the directory are named by line and column and nothing is kept; the
/// corrected sheet joins the directory as Open Referral UK services of the asset
/// taxonomy, placed by the postcode directory's coordinates.
#[test]
fn the_command_line_records_assets_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    let db = db.to_str().unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_syndemic"))
            .args(args)
            .output()
            .unwrap();
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let nspl = dir.path().join("nspl.csv");
    std::fs::write(
        &nspl,
        "pcds,lsoa11,lat,long\nM41 0AA,E01006184,53.45,-2.35\n",
    )
    .unwrap();
    let (ok, text) = run(&["import", "postcodes", nspl.to_str().unwrap(), "--db", db]);
    assert!(ok, "{text}");
    let sheet = dir.path().join("assets.csv");
    std::fs::write(
        &sheet,
        "Name,Kind,Run by,Postcode,Latitude,Longitude,What it offers\n\
         Urmston Library,Hall or meeting place,Trafford Council,M41 0AA,,,Books and a warm space\n\
         Davyhulme Park,park,Friends of Davyhulme Park,,53.46,-2.36,A park\n\
         Flixton Men's Shed,community-group,Flixton Men's Shed,M41 9ZZ,,,Woodwork\n",
    )
    .unwrap();
    let (ok, text) = run(&["community", "assets", sheet.to_str().unwrap(), "--db", db]);
    assert!(!ok, "{text}");
    assert!(
        text.contains("assets.csv: nothing was imported")
            && text.contains("line 3, column B (kind)")
            && text.contains("`park` is not a kind of asset")
            && text.contains("line 4, column D (postcode)")
            && text.contains("M41 9ZZ is not in the postcode directory"),
        "{text}"
    );
    let (ok, text) = run(&["directory", "export", "--db", db]);
    assert!(ok, "{text}");
    assert!(!text.contains("Urmston Library"), "nothing kept: {text}");
    std::fs::write(
        &sheet,
        "Name,Kind,Run by,Postcode,Latitude,Longitude,What it offers\n\
         Urmston Library,Hall or meeting place,Trafford Council,M41 0AA,,,Books and a warm space\n\
         Davyhulme Park,green-space,Friends of Davyhulme Park,,53.46,-2.36,A park\n",
    )
    .unwrap();
    let (ok, text) = run(&["community", "assets", sheet.to_str().unwrap(), "--db", db]);
    assert!(ok && text.contains("recorded 2 community assets"), "{text}");
    let (ok, text) = run(&["directory", "export", "--db", db]);
    assert!(ok, "{text}");
    let feed: serde_json::Value = serde_json::from_str(&text).unwrap();
    let feed = syndemic_hub::oruk::Feed::parse(&feed).unwrap();
    let assets = syndemic_hub::assets::from_directory(&feed);
    assert_eq!(assets.len(), 2, "{assets:?}");
    let library = assets.iter().find(|a| a.name == "Urmston Library").unwrap();
    assert_eq!(
        (library.kind.as_str(), library.latitude, library.longitude),
        ("meeting-place", 53.45, -2.35),
        "placed by the postcode directory"
    );
    assert_eq!(library.postcode.as_deref(), Some("M41 0AA"));
}

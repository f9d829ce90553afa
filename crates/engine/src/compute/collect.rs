//! The joined LSOA rows streamed into per-group sums and accumulators.

use super::*;

pub(super) fn column(batch: &RecordBatch, name: &str) -> Result<ArrayRef, EngineError> {
    batch
        .column_by_name(name)
        .cloned()
        .ok_or_else(|| input(format!("the query lost the column {name}: this is a bug")))
}

/// The text and number columns every result batch has.
pub(super) struct Texts {
    period: ArrayRef,
    sex: ArrayRef,
    band: ArrayRef,
    count: ArrayRef,
    population: ArrayRef,
}

impl Texts {
    pub(super) fn of(batch: &RecordBatch) -> Result<Texts, EngineError> {
        Ok(Texts {
            period: column(batch, "period")?,
            sex: column(batch, "sex")?,
            band: column(batch, "age_band")?,
            count: column(batch, "count")?,
            population: column(batch, "population")?,
        })
    }
}

/// Turns rows of (group, period, sex, band, sums) into DSR accumulators (or, for
/// crude measures, sums of events and population), interning texts so that no row
/// allocates.
pub(super) struct Collector<'s> {
    spec: &'s ComputeSpec,
    codes: Vec<AreaCode>,
    england: AreaCode,
    pub(super) groups: Vec<Group>,
    ids: FxHashMap<(Grouping, i64, i64, u32, u32), u32>,
    periods: FxHashMap<String, (u32, Period)>,
    sexes: FxHashMap<String, u32>,
    sex_names: Vec<String>,
    /// Per sex id: whether its rows also count towards the derived Persons.
    derives_persons: Vec<bool>,
    /// The sex id of Persons derived from Male and Female, once either is met.
    persons: Option<u32>,
    /// For a DSR: each derived Persons group's summed bands (group, band slots
    /// seen, [count, population] per slot), and where each group's entry is.
    persons_bands: Vec<(u32, u32, [[f64; 2]; MAX_BANDS])>,
    persons_slots: FxHashMap<u32, usize>,
    /// Band label → its slot (order of first appearance, at most [`MAX_BANDS`]).
    bands: FxHashMap<String, usize>,
    /// Per slot: its label, its weight (ESP2013 for a DSR, 1 for crude measures)
    /// and the ages it covers as a mask (a DSR: of ESP2013's 19 bands, so that `85+`
    /// and `85-89` in one group are refused as overlapping; crude: the slot's bit).
    slots: Vec<(String, f64, u32)>,
    /// For LSOA rows: which ages each group has seen, to refuse repeats.
    seen: Vec<u32>,
    pub(super) accumulator: DsrAccumulator,
    /// Per group: events and population (every measure).
    pub(super) sums: Vec<[f64; 2]>,
    row: usize,
}

impl<'s> Collector<'s> {
    pub(super) fn new(spec: &'s ComputeSpec, codes: Vec<AreaCode>) -> Result<Self, EngineError> {
        Ok(Collector {
            spec,
            codes,
            england: AreaCode::parse(ENGLAND).map_err(|e| input(e.to_string()))?,
            groups: Vec::new(),
            ids: FxHashMap::default(),
            periods: FxHashMap::default(),
            sexes: FxHashMap::default(),
            sex_names: Vec::new(),
            derives_persons: Vec::new(),
            persons: None,
            persons_bands: Vec::new(),
            persons_slots: FxHashMap::default(),
            bands: FxHashMap::default(),
            slots: Vec::new(),
            seen: Vec::new(),
            accumulator: DsrAccumulator::new(),
            sums: Vec::new(),
            row: 0,
        })
    }

    pub(super) fn add(
        &mut self,
        grouping: Grouping,
        area: i64,
        category: i64,
        texts: &Texts,
        r: usize,
        check_repeats: bool,
    ) -> Result<(), EngineError> {
        let period = texts.period.as_string::<i32>().value(r);
        let sex = texts.sex.as_string::<i32>().value(r);
        let band_text = texts.band.as_string::<i32>().value(r);
        let count = texts.count.as_primitive::<Float64Type>().value(r);
        let population = texts.population.as_primitive::<Float64Type>().value(r);
        let band = match self.bands.get(band_text) {
            Some(b) => *b,
            None => self.new_slot(band_text)?,
        };
        let (weight, ages) = (self.slots[band].1, self.slots[band].2);
        let (period_id, when) = match self.periods.get(period) {
            Some(p) => *p,
            None => {
                let p = Period::parse(period)
                    .map_err(|e| input(format!("{}: {e}", self.spec.counts)))?;
                let entry = (self.periods.len() as u32, p);
                self.periods.insert(period.to_owned(), entry);
                entry
            }
        };
        let sex_id = self.sex_id(sex)?;
        let gid = self.group_id(grouping, area, category, period_id, when, sex_id);
        if check_repeats {
            let g = gid as usize;
            if self.seen.len() <= g {
                self.seen.resize(g + 1, 0);
            }
            if self.seen[g] & ages != 0 {
                let group = &self.groups[g];
                return Err(input(format!(
                    "{}: duplicate key: more than one row for {}, {}, {}, age band {band_text} (or a band that overlaps it, such as 85+ beside 85-89); the layout has one row per LSOA, period, sex and age band",
                    self.spec.counts, group.area, group.period, group.sex
                )));
            }
            self.seen[g] |= ages;
            if self.spec.measure == Measure::Proportion && count > population {
                let group = &self.groups[g];
                return Err(input(format!(
                    "{}: {}, {}, {}, age band {band_text}: the count {count} is above its denominator {population}; a proportion counts people out of the denominator",
                    self.spec.counts, group.area, group.period, group.sex
                )));
            }
        }
        self.accumulate(gid, count, population, weight)?;
        // Persons: males and females added together, band by band (a DSR's bands
        // are summed first and standardised at the end).
        if let Some(persons) = self
            .persons
            .filter(|_| self.derives_persons[sex_id as usize])
        {
            let pid = self.group_id(grouping, area, category, period_id, when, persons);
            if self.spec.measure == Measure::Dsr {
                let next = self.persons_bands.len();
                let slot = *self.persons_slots.entry(pid).or_insert(next);
                if slot == next {
                    self.persons_bands.push((pid, 0, [[0.0; 2]; MAX_BANDS]));
                }
                let (_, seen, sums) = &mut self.persons_bands[slot];
                *seen |= 1 << band;
                sums[band][0] += count;
                sums[band][1] += population;
            } else {
                self.accumulate(pid, count, population, weight)?;
            }
        }
        self.row += 1;
        Ok(())
    }

    /// Standardises the derived Persons groups of a DSR from their summed bands;
    /// call once every row has been added.
    pub(super) fn finish_persons(&mut self) -> Result<(), EngineError> {
        for (pid, seen, sums) in std::mem::take(&mut self.persons_bands) {
            for (band, [count, population]) in sums.into_iter().enumerate() {
                if seen & (1 << band) != 0 {
                    self.accumulate(pid, count, population, self.slots[band].1)?;
                }
            }
        }
        self.persons_slots.clear();
        Ok(())
    }

    /// Opens the slot of a band label met for the first time. A DSR takes the
    /// ESP2013 weight of the band, or of the standard bands that make it up
    /// (`85+` is 85-89 and 90+, 2,500: [`standard_weight`]).
    fn new_slot(&mut self, band_text: &str) -> Result<usize, EngineError> {
        let slot = self.slots.len();
        if slot == MAX_BANDS {
            return Err(input(format!(
                "{}: more than {MAX_BANDS} age bands (`{band_text}` is one too many); give at most {MAX_BANDS}, or sum them first",
                self.spec.counts
            )));
        }
        // One banding per file: a band whose ages overlap another's (85+ in one LSOA,
        // 85-89 and 90+ in the next) would count those ages twice in every total.
        if let Some(band) = AgeBand::parse(band_text).filter(|b| *b != AgeBand::AllAges) {
            let overlapping = self.slots.iter().find(|(label, ..)| {
                AgeBand::parse(label).is_some_and(|other| {
                    other != band && other != AgeBand::AllAges && overlaps(band, other)
                })
            });
            if let Some((other, ..)) = overlapping {
                return Err(input(format!(
                    "{}: age band `{band_text}` overlaps age band `{other}` given elsewhere in the counts; use one set of bands throughout (sum 85-89 and 90+ into 85+, or give 85-89 and 90+ everywhere)",
                    self.spec.counts
                )));
            }
        }
        let (weight, ages) = if self.spec.measure == Measure::Dsr {
            esp2013_band(band_text).ok_or_else(|| {
                input(format!(
                    "{}: age band `{band_text}` is not an ESP2013 band (0-4, 5-9, …, 85-89, 90+) nor a run of them (such as 85+)",
                    self.spec.counts
                ))
            })?
        } else {
            (1.0, 1u32 << slot)
        };
        self.bands.insert(band_text.to_owned(), slot);
        self.slots.push((band_text.to_owned(), weight, ages));
        Ok(slot)
    }

    /// The id of a sex, interning it (in its one written form: `male` is `Male`); `Male` and `Female` also open the derived
    /// `Persons`, which rows of their own called `Persons` may not join.
    pub(super) fn sex_id(&mut self, given: &str) -> Result<u32, EngineError> {
        if let Some(&s) = self.sexes.get(given) {
            return Ok(s);
        }
        let written = syndemic_model::Sex::parse(given).map_or(given, |s| s.label());
        if let Some(&s) = self.sexes.get(written) {
            self.sexes.insert(given.to_owned(), s);
            return Ok(s);
        }
        let sex = written;
        let derives = sex.eq_ignore_ascii_case("male") || sex.eq_ignore_ascii_case("female");
        let given_persons = sex.eq_ignore_ascii_case("persons");
        if (given_persons && self.persons.is_some())
            || (derives && self.sexes.keys().any(|k| k.eq_ignore_ascii_case("persons")))
        {
            return Err(input(format!(
                "{}: the counts mix rows for Persons with rows for Male and Female; give one or the other (Persons is computed from Male and Female)",
                self.spec.counts
            )));
        }
        let s = self.sex_names.len() as u32;
        self.sexes.insert(sex.to_owned(), s);
        self.sexes.insert(given.to_owned(), s);
        self.sex_names.push(sex.to_owned());
        self.derives_persons.push(derives);
        if derives && self.persons.is_none() {
            self.persons = Some(self.sex_names.len() as u32);
            self.sex_names.push("Persons".into());
            self.derives_persons.push(false);
        }
        Ok(s)
    }

    pub(super) fn group_id(
        &mut self,
        grouping: Grouping,
        area: i64,
        category: i64,
        period_id: u32,
        when: Period,
        sex_id: u32,
    ) -> u32 {
        let next = self.ids.len() as u32;
        let (groups, codes, england, sex_names) =
            (&mut self.groups, &self.codes, self.england, &self.sex_names);
        *self
            .ids
            .entry((grouping, area, category, period_id, sex_id))
            .or_insert_with(|| {
                groups.push(Group {
                    grouping,
                    area: if area < 0 {
                        england
                    } else {
                        codes[area as usize]
                    },
                    category: category as u8,
                    period: when,
                    sex: sex_names[sex_id as usize].clone(),
                });
                next
            })
    }

    pub(super) fn accumulate(
        &mut self,
        gid: u32,
        count: f64,
        population: f64,
        weight: f64,
    ) -> Result<(), EngineError> {
        let g = gid as usize;
        if self.sums.len() <= g {
            self.sums.resize(g + 1, [0.0; 2]);
        }
        self.sums[g][0] += count;
        self.sums[g][1] += population;
        if self.spec.measure == Measure::Dsr {
            self.accumulator
                .add(self.row, gid, Some(count), Some(population), Some(weight))?;
        }
        Ok(())
    }
}

/// Whether two bands share an age.
fn overlaps(a: AgeBand, b: AgeBand) -> bool {
    match (a.years(), b.years()) {
        (Some((a0, a1)), Some((b0, b1))) => {
            let end = |x: Option<u16>| x.map_or(u32::MAX, u32::from);
            u32::from(a0) <= end(b1) && u32::from(b0) <= end(a1)
        }
        _ => false,
    }
}

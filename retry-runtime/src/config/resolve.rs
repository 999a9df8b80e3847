//! Inheritance: presets, `base` chains, cycles.

use std::collections::{BTreeMap, BTreeSet};

use super::check::{Check, Table};
use super::error::Problem;
use super::raw::join;
use super::suggest::closest;

// ---------------------------------------------------------------------------
// Inheritance
// ---------------------------------------------------------------------------

/// One kind of named table.
pub(super) struct Section {
    pub(super) key: &'static str,
    pub(super) singular: &'static str,
    pub(super) plural: &'static str,
}

pub(super) const POLICIES: Section = Section {
    key: "policies",
    singular: "policy",
    plural: "policies",
};
pub(super) const BREAKERS: Section = Section {
    key: "breakers",
    singular: "breaker",
    plural: "breakers",
};
pub(super) const BUDGETS: Section = Section {
    key: "budgets",
    singular: "budget",
    plural: "budgets",
};

pub(super) const HEDGES: Section = Section {
    key: "hedges",
    singular: "hedge",
    plural: "hedges",
};

pub(super) enum Parent<'a, S> {
    Preset(&'a str, S),
    Table(&'a str),
    Unknown(&'a str),
    /// The parent is not a table; it is reported already.
    Failed,
}

/// How many names an "unknown base" message lists before it counts the rest.
const LISTED_NAMES: usize = 20;
/// How many name comparisons "did you mean" may make for one section's
/// unknown bases, in all: past it, unknown bases get no suggestion, so a file
/// of many tables with unknown bases stays linear.
const SUGGESTION_BUDGET: usize = 100_000;

/// A resolved table: its settings, and whether it or an ancestor had a
/// refused key (then checks that relate several keys are skipped, since
/// they would judge a value the user did not mean).
type Resolved<S> = Option<(S, bool)>;

pub(super) struct Resolver<'a, 'p, T: Table> {
    section: &'a Section,
    /// `retry.policies` when the config is embedded under `retry`.
    path: String,
    tables: &'a BTreeMap<String, T>,
    failed: &'a BTreeSet<String>,
    presets: &'a BTreeMap<String, T::Settings>,
    done: BTreeMap<&'a str, Resolved<T::Settings>>,
    /// Every defined name, sorted, built on the first unknown base.
    defined: Option<Vec<&'a str>>,
    suggestions_left: usize,
    problems: &'p mut Vec<Problem>,
}

/// Resolves every table of one section against `presets` (built-in presets
/// and library defaults); returns the tables' settings, problems appended.
pub(super) fn resolve_section<T: Table>(
    section: &Section,
    prefix: &str,
    tables: &BTreeMap<String, T>,
    failed: &BTreeSet<String>,
    presets: &BTreeMap<String, T::Settings>,
    problems: &mut Vec<Problem>,
) -> BTreeMap<String, T::Settings> {
    let mut resolver = Resolver {
        section,
        path: join(prefix, section.key),
        tables,
        failed,
        presets,
        done: BTreeMap::new(),
        defined: None,
        suggestions_left: SUGGESTION_BUDGET,
        problems,
    };
    for name in tables.keys() {
        resolver.resolve(name);
    }
    resolver
        .done
        .into_iter()
        .filter_map(|(name, settings)| Some((name.to_owned(), settings?.0)))
        .collect()
}

impl<'a, T: Table> Resolver<'a, '_, T> {
    /// Resolves `start` and every table of its `base` chain, iteratively: a
    /// chain of any length takes no stack.
    fn resolve(&mut self, start: &'a str) {
        // The tables to merge, heir first; then what the last one inherits.
        let mut chain: Vec<&'a str> = Vec::new();
        let mut in_chain: BTreeMap<&'a str, usize> = BTreeMap::new();
        let mut name = start;
        let (root, root_label): (Resolved<T::Settings>, String) = loop {
            if let Some(done) = self.done.get(name) {
                break (*done, format!("`{name}`"));
            }
            if let Some(&at) = in_chain.get(name) {
                self.report_cycle(&chain[at..]);
                break (None, String::new());
            }
            let Some(table) = self.tables.get(name) else {
                break (None, String::new());
            };
            in_chain.insert(name, chain.len());
            chain.push(name);
            match self.parent_of(name, table) {
                Parent::Preset(preset, settings) => {
                    break (
                        Some((settings, false)),
                        format!("the built-in `{preset}` {}", self.section.singular),
                    );
                }
                Parent::Table(parent) => name = parent,
                Parent::Unknown(base) => {
                    self.report_unknown_base(name, base);
                    break (None, String::new());
                }
                Parent::Failed => break (None, String::new()),
            }
        };
        let mut parent = root;
        let mut label = root_label;
        for &name in chain.iter().rev() {
            let merged = self.merge_one(name, parent, &label);
            self.done.insert(name, merged);
            parent = merged;
            label = format!("`{name}`");
        }
    }

    /// Merges one table over its resolved parent and checks it.
    fn merge_one(
        &mut self,
        name: &'a str,
        parent: Resolved<T::Settings>,
        label: &str,
    ) -> Resolved<T::Settings> {
        let section = self.section;
        let table = self.tables.get(name)?;
        if name.is_empty() {
            self.problems.push(
                Problem::new(
                    &format!("{}.\"\"", self.path),
                    format!(
                        "a {} name cannot be empty; name the table, like [{}.example]",
                        section.singular, section.key
                    ),
                )
                .at(table.spans().table),
            );
            return None;
        }
        // Without a parent (unknown base, cycle), the table is still checked
        // over the built-in `default`, for what its own keys say alone.
        let (parent, tainted, resolved) = match parent {
            Some((parent, tainted)) => (parent, tainted, true),
            None => (*self.presets.get("default")?, true, false),
        };
        let merged = table.merge(&parent);
        table.check(
            &merged,
            &mut Check {
                prefix: format!("{}.{name}", self.path),
                parent: label.to_owned(),
                spans: table.spans(),
                tainted,
                problems: self.problems,
            },
        );
        resolved.then_some((merged, tainted || !table.spans().failed.is_empty()))
    }

    fn parent_of(&self, name: &'a str, table: &'a T) -> Parent<'a, T::Settings> {
        let preset = |n: &'a str| {
            self.presets
                .get_key_value(n)
                .map(|(k, s)| Parent::Preset(k.as_str(), *s))
        };
        let in_file = |n: &str| {
            if self.failed.contains(n) {
                Some(Parent::Failed)
            } else {
                self.tables
                    .get_key_value(n)
                    .map(|(k, _)| Parent::Table(k.as_str()))
            }
        };
        match table.base() {
            Some(base) if base == name => preset(base).unwrap_or(Parent::Table(name)),
            Some(base) => in_file(base)
                .or_else(|| preset(base))
                .unwrap_or(Parent::Unknown(base)),
            None if name == "default" => preset("default").unwrap_or(Parent::Unknown("default")),
            None => in_file("default")
                .or_else(|| preset("default"))
                .unwrap_or(Parent::Unknown("default")),
        }
    }

    fn report_unknown_base(&mut self, name: &str, base: &str) {
        let section = self.section;
        let (presets, tables, failed) = (self.presets, self.tables, self.failed);
        let defined = self.defined.get_or_insert_with(|| {
            let set: BTreeSet<&str> = presets
                .keys()
                .chain(tables.keys())
                .chain(failed.iter())
                .map(String::as_str)
                .filter(|n| !n.is_empty())
                .collect();
            set.into_iter().collect()
        });
        let mut list = defined
            .iter()
            .take(LISTED_NAMES)
            .copied()
            .collect::<Vec<_>>()
            .join(", ");
        if defined.len() > LISTED_NAMES {
            list.push_str(&format!(", ... ({} in all)", defined.len()));
        }
        let near = if self.suggestions_left >= defined.len() {
            self.suggestions_left -= defined.len();
            // A table's own name is a base only when a preset has it.
            let own_ok = presets.contains_key(name);
            closest(
                base,
                defined.iter().copied().filter(|n| own_ok || *n != name),
            )
        } else {
            None
        };
        let fix = match near {
            Some(near) => format!("did you mean \"{near}\"?"),
            None => format!("add a [{}.{base}] table, or name one of those", section.key),
        };
        let table = self.tables.get(name);
        let explicit = table.and_then(Table::base).is_some();
        let (what, at) = if explicit {
            (
                format!("{}.{name}.base", self.path),
                table.and_then(|t| t.spans().of("base")),
            )
        } else {
            (
                format!("{}.{name}", self.path),
                table.and_then(|t| t.spans().table),
            )
        };
        self.problems.push(
            Problem::new(
                &what,
                format!(
                    "no {} is called \"{base}\"; defined {} are: {list}; {fix}",
                    section.singular, section.plural
                ),
            )
            .at(at),
        );
    }

    fn report_cycle(&mut self, members: &[&'a str]) {
        let Some(&first) = members.first() else {
            return;
        };
        let explicit = |n: &str| self.tables.get(n).and_then(Table::base).is_some();
        let mut cycle: Vec<&str> = members.to_vec();
        cycle.push(first);
        let implicit = if members.iter().any(|n| !explicit(n)) {
            " (a table without `base` inherits from `default`)"
        } else {
            ""
        };
        let table = self.tables.get(first);
        let (path, at) = if explicit(first) {
            (
                format!("{}.{first}.base", self.path),
                table.and_then(|t| t.spans().of("base")),
            )
        } else {
            (
                format!("{}.{first}", self.path),
                table.and_then(|t| t.spans().table),
            )
        };
        let message = format!(
            "inheritance cycle {}{implicit}; remove `base` from one of them, or point it at a {} outside the cycle",
            cycle.join(" -> "),
            self.section.singular,
        );
        self.problems.push(Problem::new(&path, message).at(at));
    }
}

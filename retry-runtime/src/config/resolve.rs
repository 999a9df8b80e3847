//! Inheritance: presets, `base` chains, cycles.

use std::collections::{BTreeMap, BTreeSet};

use super::check::Check;
use super::error::Problem;
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

/// A table as written: what it inherits from, how it overrides, what it checks.
pub(super) trait Table {
    type Settings: Copy;
    fn base(&self) -> Option<&str>;
    /// The parent's settings with this table's keys applied.
    fn merge(&self, parent: &Self::Settings) -> Self::Settings;
    /// Checks the merged settings, reporting only what this table sets.
    fn check(&self, merged: &Self::Settings, check: &mut Check<'_>);
}

pub(super) enum Parent<'a, S> {
    Preset(&'a str, S),
    Table(&'a str),
    Unknown(&'a str),
    /// The parent did not deserialize; it is reported already.
    Failed,
}

pub(super) struct Resolver<'a, 'p, T: Table> {
    pub(super) section: &'a Section,
    pub(super) tables: &'a BTreeMap<String, T>,
    pub(super) failed: &'a BTreeSet<String>,
    pub(super) presets: &'a BTreeMap<String, T::Settings>,
    pub(super) done: BTreeMap<&'a str, Option<T::Settings>>,
    /// Tables being resolved, each with whether it names its parent by `base`.
    pub(super) stack: Vec<(&'a str, bool)>,
    pub(super) problems: &'p mut Vec<Problem>,
}

pub(super) fn resolve_section<T: Table>(
    section: &Section,
    tables: &BTreeMap<String, T>,
    failed: &BTreeSet<String>,
    presets: BTreeMap<String, T::Settings>,
    problems: &mut Vec<Problem>,
) -> BTreeMap<String, T::Settings> {
    let mut resolver = Resolver {
        section,
        tables,
        failed,
        presets: &presets,
        done: BTreeMap::new(),
        stack: Vec::new(),
        problems,
    };
    for name in tables.keys() {
        resolver.resolve(name);
    }
    let merged: Vec<(String, T::Settings)> = resolver
        .done
        .into_iter()
        .filter_map(|(name, settings)| Some((name.to_owned(), settings?)))
        .collect();
    let mut out = presets;
    out.extend(merged);
    out
}

impl<'a, T: Table> Resolver<'a, '_, T> {
    pub(super) fn resolve(&mut self, name: &'a str) -> Option<T::Settings> {
        if let Some(done) = self.done.get(name) {
            return *done;
        }
        if let Some(start) = self.stack.iter().position(|(n, _)| *n == name) {
            self.report_cycle(start);
            return None;
        }
        let table = self.tables.get(name)?;
        let section = self.section;
        let (parent, label) = match self.parent_of(name, table) {
            Parent::Preset(preset, settings) => (
                Some(settings),
                format!("the built-in `{preset}` {}", section.singular),
            ),
            Parent::Table(parent) => {
                self.stack.push((name, table.base().is_some()));
                let settings = self.resolve(parent);
                self.stack.pop();
                (settings, format!("`{parent}`"))
            }
            Parent::Unknown(base) => {
                self.report_unknown_base(name, base);
                (None, String::new())
            }
            Parent::Failed => (None, String::new()),
        };
        let merged = if name.is_empty() {
            self.problems.push(Problem::new(
                &format!("{}.\"\"", section.key),
                format!(
                    "a {} name cannot be empty; name the table, like [{}.example]",
                    section.singular, section.key
                ),
            ));
            None
        } else {
            parent.map(|parent| {
                let merged = table.merge(&parent);
                table.check(
                    &merged,
                    &mut Check {
                        prefix: format!("{}.{name}", section.key),
                        parent: label,
                        problems: self.problems,
                    },
                );
                merged
            })
        };
        self.done.insert(name, merged);
        merged
    }

    pub(super) fn parent_of(&self, name: &'a str, table: &'a T) -> Parent<'a, T::Settings> {
        let preset = |n: &'a str| self.presets.get(n).map(|s| Parent::Preset(n, *s));
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

    pub(super) fn report_unknown_base(&mut self, name: &str, base: &str) {
        let section = self.section;
        let defined: BTreeSet<&str> = self
            .presets
            .keys()
            .chain(self.tables.keys())
            .chain(self.failed.iter())
            .map(String::as_str)
            .filter(|n| !n.is_empty())
            .collect();
        let list = defined.iter().copied().collect::<Vec<_>>().join(", ");
        let fix = match closest(base, defined.iter().copied()) {
            Some(near) => format!("did you mean \"{near}\"?"),
            None => format!("add a [{}.{base}] table, or name one of those", section.key),
        };
        let what = if self.tables.get(name).and_then(Table::base).is_some() {
            format!("{}.{name}.base", section.key)
        } else {
            format!("{}.{name}", section.key)
        };
        self.problems.push(Problem::new(
            &what,
            format!(
                "no {} is called \"{base}\"; defined {} are: {list}; {fix}",
                section.singular, section.plural
            ),
        ));
    }

    pub(super) fn report_cycle(&mut self, start: usize) {
        let members = &self.stack[start..];
        let Some(&(first, explicit)) = members.first() else {
            return;
        };
        let mut cycle: Vec<&str> = members.iter().map(|(n, _)| *n).collect();
        cycle.push(first);
        let implicit = if members.iter().any(|(_, explicit)| !explicit) {
            " (a table without `base` inherits from `default`)"
        } else {
            ""
        };
        let path = if explicit {
            format!("{}.{first}.base", self.section.key)
        } else {
            format!("{}.{first}", self.section.key)
        };
        self.problems.push(Problem::new(
            &path,
            format!(
                "inheritance cycle {}{implicit}; remove `base` from one of them, or point it at a {} outside the cycle",
                cycle.join(" -> "),
                self.section.singular,
            ),
        ));
    }
}

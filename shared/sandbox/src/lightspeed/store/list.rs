//! List queries: filters (also on relation paths), a stable sort (ties by id) and keyset
//! pages with `next`/`previous` cursors.

use std::cmp::Ordering;

use serde_json::Value;

use super::{ListPage, Refusal, Store, bad};
use crate::lightspeed::query::{Archived, Comparable, Condition, Cursor, Entity, ListQuery, Loads};
use crate::lightspeed::render::text;

impl Store {
    /// The values a filter on `field` sees for one record (several for relation paths).
    pub(super) fn field_values(&self, entity: Entity, id: u64, field: &str) -> Option<Vec<String>> {
        if entity == Entity::Customer && field.eq_ignore_ascii_case("Contact.email") {
            let rec = self.customers.get(&id)?;
            return Some(
                rec.contact
                    .emails
                    .iter()
                    .map(|e| text(e, "address").to_owned())
                    .collect(),
            );
        }
        if let Some((relation, sub)) = field.split_once('.') {
            let rendered = self.render(entity, id, &Loads::only(relation))?;
            let rel = rendered.get(relation)?;
            let elements: Vec<&Value> = match rel {
                Value::Object(m)
                    if m.len() == 1 && m.values().all(|v| v.is_array() || v.is_object()) =>
                {
                    match m.values().next() {
                        Some(Value::Array(a)) => a.iter().collect(),
                        Some(other) => vec![other],
                        None => vec![],
                    }
                }
                Value::Object(_) => vec![rel],
                _ => vec![],
            };
            return Some(
                elements
                    .iter()
                    .filter_map(|e| e.get(sub).and_then(Value::as_str).map(str::to_owned))
                    .collect(),
            );
        }
        let row = self.row(entity, id)?;
        let key = if entity == Entity::Sale && field.eq_ignore_ascii_case("updatetime") {
            self.behaviour.update_time_key.key()
        } else {
            field
        };
        row.get(key)
            .and_then(Value::as_str)
            .map(|v| vec![v.to_owned()])
    }

    /// Whether `field` is something a filter can use on `entity`, with a sample value (from
    /// the first record that has the field) for validating the operands.
    pub(super) fn probe_field(&self, entity: Entity, field: &str, ids: &[u64]) -> Option<String> {
        if field.contains('.') {
            let relation = field.split('.').next().unwrap_or("");
            let known = (entity == Entity::Customer && field.eq_ignore_ascii_case("Contact.email"))
                || entity.relations().iter().any(|(n, _)| *n == relation);
            return known.then(String::new);
        }
        if ids.is_empty() {
            return Some(String::new());
        }
        // Some fields exist only on some records (`completeTime` on completed sales).
        ids.iter().find_map(|id| {
            self.field_values(entity, *id, field)
                .and_then(|v| v.into_iter().next())
        })
    }

    /// Runs a list query.
    pub(crate) fn list(&self, entity: Entity, q: &ListQuery) -> Result<ListPage, Refusal> {
        let all_ids = self.ids(entity);
        for (field, cond) in &q.filters {
            let Some(sample_value) = self.probe_field(entity, field, &all_ids) else {
                return Err(bad(format!(
                    "Invalid field '{field}' for {}",
                    entity.name()
                )));
            };
            cond.validate(field, &sample_value).map_err(bad)?;
        }
        let sort_field = q.sort_field(entity);
        let mut rows: Vec<(Comparable, u64)> = Vec::new();
        for id in all_ids {
            let Some(row) = self.row(entity, id) else {
                continue;
            };
            let archived = text(row, "archived") == "true";
            let keep = match q.archived {
                Archived::Exclude => !archived,
                Archived::Include => true,
                Archived::Only => archived,
            };
            if !keep {
                continue;
            }
            let pass = q.filters.iter().all(|(field, cond)| {
                let values = self.field_values(entity, id, field).unwrap_or_default();
                match cond {
                    Condition::Ne(_) | Condition::NotLike(_) => {
                        values.iter().all(|v| cond.matches(v))
                    }
                    _ => values.iter().any(|v| cond.matches(v)),
                }
            });
            if !pass {
                continue;
            }
            let key = self
                .field_values(entity, id, &sort_field)
                .and_then(|v| v.into_iter().next())
                .unwrap_or_default();
            // Decorated once here, so sorting and paging never parse a value again.
            rows.push((Comparable::new(key), id));
        }
        let order = |a: &(Comparable, u64), b: &(Comparable, u64)| {
            let o = a.0.cmp_to(&b.0).then(a.1.cmp(&b.1));
            if q.descending { o.reverse() } else { o }
        };
        rows.sort_by(order);
        let boundary = |c: &Cursor| (Comparable::new(c.v.clone()), c.i);
        let start = q.after.as_ref().map(boundary).map_or(0, |b| {
            rows.partition_point(|r| order(r, &b) != Ordering::Greater)
        });
        let end = q.before.as_ref().map(boundary).map_or(rows.len(), |b| {
            rows.partition_point(|r| order(r, &b) == Ordering::Less)
        });
        let window = &rows[start.min(end)..end];
        let page: &[(Comparable, u64)] = if q.before.is_some() && q.after.is_none() {
            &window[window.len().saturating_sub(q.limit)..]
        } else {
            &window[..window.len().min(q.limit)]
        };
        let cursor = |r: &(Comparable, u64)| Cursor {
            f: sort_field.clone(),
            d: q.descending,
            v: r.0.as_str().to_owned(),
            i: r.1,
        };
        // Mixed kinds of values need not order transitively, so the links come from a scan
        // rather than from the page's position.
        let full = page.len() == q.limit && self.behaviour.next_on_full_page;
        let next = page.last().and_then(|last| {
            (full || rows.iter().any(|r| order(r, last) == Ordering::Greater)).then(|| cursor(last))
        });
        let previous = page.first().and_then(|first| {
            rows.iter()
                .any(|r| order(r, first) == Ordering::Less)
                .then(|| cursor(first))
        });
        let records = page
            .iter()
            .filter_map(|(_, id)| self.render(entity, *id, &q.loads))
            .collect();
        Ok(ListPage {
            records,
            next,
            previous,
        })
    }
}

//! A lot's flow for the console: from its first holder through every holder of it and of the
//! lots split from it, to where the packages left the chain (sold, disposed) or still are (in
//! stock), with the recalled part marked. Read from the lots' events, within bounds.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use xinlian_contracts::{Space, coldchain};
use xinlian_core::api::console::{FlowLink, FlowNode, LotFlow};
use xinlian_core::ids::Uscc;
use xinlian_core::trace::{EventKind, LotCode, LotNumber, LotOrder, TraceEvent};

use super::{TraceReader, decode, summary};
use crate::Result;

/// Most lots a flow draws (the lot and its descendants).
const FLOW_LOTS_MAX: usize = 2_000;
/// Most events a flow reads over all its lots.
const FLOW_EVENTS_MAX: usize = 50_000;

const SOLD: &str = "sold";
const DISPOSED: &str = "disposed";
const STOCK: &str = "stock";

impl TraceReader<'_> {
    /// The flow of `lot` and its descendants; `None` for an unknown lot.
    pub fn flow(&mut self, lot: LotNumber) -> Result<Option<LotFlow>> {
        let Some(record) = self.lot(lot)? else {
            return Ok(None);
        };
        let (mut numbers, mut truncated) = self.descendants(lot)?;
        if numbers.len() > FLOW_LOTS_MAX {
            numbers.truncate(FLOW_LOTS_MAX);
            truncated = true;
        }
        // A lot is recalled when it or any lot it was split from is: its packages came from
        // the recalled ones. Parents come before children in coding order.
        let mut recalled: HashMap<LotNumber, bool> = HashMap::new();
        recalled.insert(
            lot,
            self.recalled_from_above(&record.parent, &record.order)?,
        );
        let mut links: BTreeMap<(String, String, bool), u64> = BTreeMap::new();
        let mut holders: BTreeSet<Uscc> = BTreeSet::new();
        let (mut events_left, mut recalled_in_stock) = (FLOW_EVENTS_MAX, 0);
        for (position, &number) in numbers.iter().enumerate() {
            if events_left == 0 {
                truncated = position < numbers.len();
                break;
            }
            let Some(current) = self.lot(number)? else {
                continue;
            };
            let inherited = current
                .parent
                .as_ref()
                .and_then(|(parent, _)| recalled.get(parent).copied())
                .unwrap_or(false);
            let is_recalled = recalled.get(&number).copied().unwrap_or(false)
                || inherited
                || matches!(current.order, LotOrder::Recalled { .. });
            recalled.insert(number, is_recalled);
            let prefix = coldchain::events_prefix(number);
            let mut events =
                self.storage
                    .scan(Space::State, &prefix, &[], None, events_left + 1)?;
            if events.len() > events_left {
                events.truncate(events_left);
                truncated = true;
            }
            events_left -= events.len();
            for (_, bytes) in events {
                let event: TraceEvent = decode(&bytes, "trace event")?;
                let target = match event.kind {
                    EventKind::Shipped => match &event.counterparty {
                        Some(to) => {
                            holders.insert(to.clone());
                            to.to_string()
                        }
                        None => continue,
                    },
                    EventKind::Sold => SOLD.to_string(),
                    EventKind::Disposed => DISPOSED.to_string(),
                    _ => continue,
                };
                // Only holders appear: a regulator's order moves nothing.
                holders.insert(event.actor.clone());
                let key = (event.actor.to_string(), target, is_recalled);
                *links.entry(key).or_default() += event.serials.count();
            }
            let (holdings, cut) = self.holdings(number)?;
            truncated |= cut;
            for (uscc, holding) in holdings {
                let stock = holding.stock.count();
                if stock == 0 {
                    continue;
                }
                if is_recalled {
                    recalled_in_stock += stock;
                }
                *links
                    .entry((uscc.to_string(), STOCK.to_string(), is_recalled))
                    .or_default() += stock;
                holders.insert(uscc);
            }
        }
        let mut nodes = Vec::with_capacity(holders.len() + 3);
        for uscc in &holders {
            let enterprise = self.enterprise_ref(uscc)?;
            nodes.push(FlowNode {
                id: uscc.to_string(),
                name: enterprise.name.clone(),
                enterprise: Some(enterprise),
            });
        }
        for (id, name) in [(SOLD, "已售出"), (DISPOSED, "已销毁"), (STOCK, "在库")] {
            if links.keys().any(|(_, target, _)| target == id) {
                nodes.push(FlowNode {
                    id: id.to_string(),
                    name: name.to_string(),
                    enterprise: None,
                });
            }
        }
        let links: Vec<FlowLink> = links
            .into_iter()
            .map(|((source, target, recalled), packages)| FlowLink {
                source,
                target,
                packages,
                recalled,
            })
            .collect();
        Ok(Some(LotFlow {
            lot: summary(&record),
            lots: numbers.into_iter().map(LotCode).collect(),
            cyclic: has_cycle(&links),
            nodes,
            links,
            recalled_in_stock,
            truncated,
        }))
    }

    /// Whether a lot with this parent and order is recalled, itself or through a lot it was
    /// split from (at most the split depth above it).
    fn recalled_from_above(
        &self,
        parent: &Option<(LotNumber, xinlian_core::trace::Serials)>,
        order: &LotOrder,
    ) -> Result<bool> {
        if matches!(order, LotOrder::Recalled { .. }) {
            return Ok(true);
        }
        let mut next = parent.as_ref().map(|(p, _)| *p);
        for _ in 0..=coldchain::SPLIT_DEPTH_MAX {
            let Some(number) = next else {
                return Ok(false);
            };
            let Some(lot) = self.lot(number)? else {
                return Ok(false);
            };
            if matches!(lot.order, LotOrder::Recalled { .. }) {
                return Ok(true);
            }
            next = lot.parent.map(|(p, _)| p);
        }
        Ok(false)
    }
}

/// Whether the links between holders form a cycle (goods returned to an earlier holder).
fn has_cycle(links: &[FlowLink]) -> bool {
    let mut edges: HashMap<&str, Vec<&str>> = HashMap::new();
    for link in links {
        edges.entry(&link.source).or_default().push(&link.target);
    }
    // Iterative depth-first search with colours: 1 on the path, 2 done.
    let mut colour: HashMap<&str, u8> = HashMap::new();
    for &start in edges.keys() {
        if colour.contains_key(start) {
            continue;
        }
        let mut stack = vec![(start, 0usize)];
        colour.insert(start, 1);
        while let Some((node, next)) = stack.pop() {
            let targets = edges.get(node).map(Vec::as_slice).unwrap_or(&[]);
            if let Some(&target) = targets.get(next) {
                stack.push((node, next + 1));
                match colour.get(target) {
                    Some(1) => return true,
                    Some(_) => {}
                    None => {
                        colour.insert(target, 1);
                        stack.push((target, 0));
                    }
                }
            } else {
                colour.insert(node, 2);
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(source: &str, target: &str) -> FlowLink {
        FlowLink {
            source: source.into(),
            target: target.into(),
            packages: 1,
            recalled: false,
        }
    }

    #[test]
    fn cycles_are_found_and_trees_are_not_cycles() {
        let tree = [
            link("a", "b"),
            link("a", "c"),
            link("b", "c"),
            link("c", "sold"),
        ];
        assert!(!has_cycle(&tree));
        let back = [link("a", "b"), link("b", "c"), link("c", "a")];
        assert!(has_cycle(&back));
        assert!(!has_cycle(&[]));
    }
}

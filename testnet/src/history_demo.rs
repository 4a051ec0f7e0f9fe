//! Weeks of history for the console's charts. The demo chain's genesis is dated `days` back,
//! so its blocks start in the past and step forward (at most ten minutes a block, see
//! `BLOCK_TIME_STEP_MS_MAX`) until they reach the clock. While they do, this plays each day's
//! business as its block time comes: lots coded at the first stations of several regions and
//! passed down the chain, sales and disposals, holds and a recall, licences issued and changed,
//! grants made, used, used up and revoked. Every count the console shows is then a count of real
//! transactions in blocks of that day.

use std::time::Duration;

use anyhow::{Context, Result};
use xinlian_core::Hash;
use xinlian_core::HashSuite;
use xinlian_core::auth::{Action, AuthCall, Grantee, Matter, Scope, use_code_digest};
use xinlian_core::calendar::{china_date, china_day};
use xinlian_core::crypto::PrivateKey;
use xinlian_core::ids::Uscc;
use xinlian_core::licence::{LicenceId, StatusAction};
use xinlian_core::limits::BLOCK_TIME_STEP_MS_MAX;
use xinlian_core::trace::{EnterpriseKind, LotCode, Selection, TraceCall};
use xinlian_core::types::Call;
use xinlian_sdk::{Client, SdkError, new_use_code};

use crate::coldchain_demo::{ALL, Import, imported_lot, register};

const TIMEOUT: Duration = Duration::from_secs(60);
const DAY_MS: u64 = 86_400_000;
const HOUR_MS: u64 = 3_600_000;
/// Beijing is UTC+8: a China day starts at 16:00 UTC the day before.
const CHINA_OFFSET_MS: u64 = 8 * HOUR_MS;

/// The history's own enterprises, beside the six of the cold-chain demo: USCC (17 characters
/// before the check), name, kind, region.
const ENTERPRISES: [(&str, &str, EnterpriseKind, u32); 6] = [
    (
        "91410300MA44F1QK7",
        "洛阳中原冷链进口贸易有限公司",
        EnterpriseKind::Importer,
        410300,
    ),
    (
        "91410700MA45D2RT8",
        "新乡豫北冷链仓储有限公司",
        EnterpriseKind::ColdStore,
        410700,
    ),
    (
        "91411000MA46H3WX9",
        "许昌鲜达冻品批发有限公司",
        EnterpriseKind::Wholesaler,
        411000,
    ),
    (
        "91410200MA47K4YB1",
        "开封鼓楼生活超市",
        EnterpriseKind::Supermarket,
        410200,
    ),
    (
        "91410181MA48M5AB2",
        "巩义河洛人家酒楼",
        EnterpriseKind::Restaurant,
        410181,
    ),
    (
        "91120101MA06N6CD3",
        "天津和平冷链食品加工厂",
        EnterpriseKind::Processor,
        120101,
    ),
];

/// Products the first stations code: name, specification, origin, category.
const PRODUCTS: [(&str, &str, &str, &str); 7] = [
    ("巴西冷冻去骨牛肉", "20kg/箱", "BR", "肉类"),
    ("西班牙冷冻猪肋排", "10kg/箱", "ES", "肉类"),
    ("新西兰冷冻羊肉卷", "12kg/箱", "NZ", "肉类"),
    ("挪威冰鲜三文鱼", "15kg/箱", "NO", "水产"),
    ("俄罗斯冷冻鳕鱼", "20kg/箱", "RU", "水产"),
    ("阿根廷冷冻红虾", "10kg/箱", "AR", "水产"),
    ("美国冷冻鸡翅中", "10kg/箱", "US", "禽肉"),
];

/// Matters a department uses a licence for: code, name.
const MATTERS: [(&str, &str); 3] = [
    ("11410100MB1234567W3410", "食品经营许可证新办"),
    ("11410100MB1234567W3420", "食品经营许可证延续"),
    ("11410100MB1234567W3430", "冷库备案变更"),
];

/// What the history made.
pub struct HistoryReport {
    /// Days of history played.
    pub days: u32,
    /// Transactions committed.
    pub transactions: u64,
}

/// Who acts in the history.
pub(crate) struct Cast<'a> {
    /// The market regulator's admin: registers enterprises, orders holds and recalls, issues
    /// licences and uses grants as the window.
    pub regulator: &'a PrivateKey,
    /// The regulator's organisation (the grantee of grants).
    pub regulator_org: &'a Uscc,
    /// The cold store's admin, holder of `licence`.
    pub holder: &'a PrivateKey,
    /// The licence the holder grants the use of.
    pub licence: &'a LicenceId,
    /// Issues licences (the licence demo's issuer).
    pub issuer: &'a crate::licence_demo::Issuer<'a>,
}

struct Player<'a> {
    client: &'a Client,
    cast: &'a Cast<'a>,
    /// Enterprise keys and USCCs: first stations, cold stores, wholesalers, retailers.
    firsts: Vec<(PrivateKey, Uscc)>,
    stores: Vec<(PrivateKey, Uscc)>,
    wholesalers: Vec<(PrivateKey, Uscc)>,
    retailers: Vec<(PrivateKey, Uscc)>,
    transactions: u64,
    seed: u64,
}

/// A lot on its way down the chain: who holds how much of it now.
struct Flow {
    lot: LotCode,
    holder: (PrivateKey, Uscc),
    quantity: u32,
}

impl Player<'_> {
    /// A small deterministic generator, so every demo chain has the same history.
    fn next(&mut self, below: u64) -> u64 {
        self.seed = self
            .seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.seed >> 33) % below.max(1)
    }

    fn any(&mut self, of: fn(&Self) -> &Vec<(PrivateKey, Uscc)>) -> (PrivateKey, Uscc) {
        let i = self.next(of(self).len() as u64) as usize;
        of(self)[i].clone()
    }

    /// Commits `calls` at once (they land in the same block or the next few, as a day's business
    /// of many enterprises would) and returns each one's outcome in order. A refusal is an
    /// outcome; anything else fails the demo.
    async fn stage(&mut self, calls: Vec<(PrivateKey, Call)>) -> Result<Vec<Option<Hash>>> {
        let mut running = tokio::task::JoinSet::new();
        for (i, (key, call)) in calls.into_iter().enumerate() {
            let client = self.client.clone();
            running.spawn(async move {
                let what = call.name();
                (i, what, client.commit(&key, call, TIMEOUT).await)
            });
        }
        let mut out = Vec::new();
        while let Some(done) = running.join_next().await {
            let (i, what, outcome) = done.context("a history transaction's task failed")?;
            let hash = match outcome {
                Ok(hash) => Some(hash),
                Err(SdkError::Refused { .. }) => None,
                Err(e) => return Err(e).with_context(|| format!("history: {what}")),
            };
            self.transactions += 1;
            out.push((i, hash));
        }
        out.sort_by_key(|(i, _)| *i);
        Ok(out.into_iter().map(|(_, hash)| hash).collect())
    }

    /// Ships each flow's goods on (a share of them) to a holder `to` picks, and has the
    /// receivers confirm; returns the flows at their new holders.
    async fn pass_on(
        &mut self,
        flows: &[Flow],
        to: fn(&Self) -> &Vec<(PrivateKey, Uscc)>,
        share: u32,
    ) -> Result<Vec<Flow>> {
        let mut ships = Vec::new();
        let mut next = Vec::new();
        for flow in flows {
            let receiver = self.any(to);
            let quantity = (flow.quantity * share / 100).max(1);
            let call = TraceCall::Ship {
                lot: flow.lot,
                to: receiver.1.clone(),
                select: Selection::Quantity(quantity),
                temperature_log: Some(
                    HashSuite::Sm3.digest(format!("{} {}", flow.lot, receiver.1).as_bytes()),
                ),
            };
            ships.push((flow.holder.0.clone(), Call::Trace(call)));
            next.push(Flow {
                lot: flow.lot,
                holder: receiver,
                quantity,
            });
        }
        let shipped = self.stage(ships).await?;
        let receipts = shipped
            .iter()
            .zip(&next)
            .filter_map(|(shipment, flow)| {
                let shipment = (*shipment)?;
                Some((
                    flow.holder.0.clone(),
                    Call::Trace(TraceCall::Receive { shipment }),
                ))
            })
            .collect();
        self.stage(receipts).await?;
        Ok(next)
    }

    fn commission(&mut self, day: u32, n: usize) -> TraceCall {
        let (product, specification, origin, category) =
            PRODUCTS[self.next(PRODUCTS.len() as u64) as usize];
        let packages = 200 + 50 * self.next(9) as u32;
        let import = Import {
            product,
            category,
            specification,
            origin,
            production_date: 20261001,
            batch: format!("{origin}-H{day:03}-{n}"),
            declaration: format!("02012026{day:04}{n:02}{packages:04}"),
            packages,
        };
        imported_lot(import, &ALL)
    }

    /// One day's cold chain: lots coded at first stations and passed down to the shops, where
    /// part is sold; now and then a cold store disposes of some. Returns the lots coded.
    async fn cold_chain_day(&mut self, day: u32) -> Result<Vec<LotCode>> {
        let count = 1 + self.next(3) as usize;
        let mut coding = Vec::new();
        let mut firsts = Vec::new();
        for n in 0..count {
            let first = self.any(|p| &p.firsts);
            coding.push((first.0.clone(), Call::Trace(self.commission(day, n))));
            firsts.push(first);
        }
        let coded = self.stage(coding).await?;
        let mut flows = Vec::new();
        for (tx, first) in coded.into_iter().zip(firsts) {
            let tx = tx.context("history: a commission was refused")?;
            flows.push(Flow {
                lot: self.client.lot_of_tx(&tx).await?,
                holder: first,
                quantity: 200,
            });
        }
        let lots: Vec<LotCode> = flows.iter().map(|f| f.lot).collect();
        let stores = self.pass_on(&flows, |p| &p.stores, 60).await?;
        let wholesalers = self.pass_on(&stores, |p| &p.wholesalers, 50).await?;
        let doubled: Vec<Flow> = wholesalers
            .iter()
            .flat_map(|f| {
                (0..2).map(|_| Flow {
                    lot: f.lot,
                    holder: f.holder.clone(),
                    quantity: f.quantity,
                })
            })
            .collect();
        let shops = self.pass_on(&doubled, |p| &p.retailers, 30).await?;
        let mut closing = Vec::new();
        for shop in &shops {
            let sold = (shop.quantity / 2 + self.next(u64::from(shop.quantity) / 2) as u32).max(1);
            let sell = TraceCall::Sell {
                lot: shop.lot,
                select: Selection::Quantity(sold),
            };
            closing.push((shop.holder.0.clone(), Call::Trace(sell)));
        }
        if self.next(3) == 0 {
            let store = &stores[0];
            let dispose = TraceCall::Dispose {
                lot: store.lot,
                select: Selection::Quantity(2),
                reason: "冷库温度记录异常，解冻变质".into(),
            };
            closing.push((store.holder.0.clone(), Call::Trace(dispose)));
        }
        self.stage(closing).await?;
        Ok(lots)
    }

    /// One day's authorisation: a grant for a matter and its uses, now and then one too many
    /// (refused: the grant allows two), now and then a revocation.
    async fn auth_day(&mut self, now_ms: u64) -> Result<()> {
        let (code, name) = MATTERS[self.next(MATTERS.len() as u64) as usize];
        let use_code = new_use_code()?;
        let grantee = Grantee::Org(self.cast.regulator_org.clone());
        let grant = AuthCall::Grant {
            use_code_digest: use_code_digest(HashSuite::Sm3, &grantee, &use_code),
            grantee,
            scope: Scope {
                licences: vec![self.cast.licence.clone()],
                data_items: vec!["纳税信用等级".into()],
                actions: vec![Action::View, Action::Verify],
            },
            matter: Matter {
                code: code.into(),
                name: name.into(),
                serial: format!("ZZ{now_ms}"),
            },
            purpose: format!("办理{name}，授权窗口查验营业执照"),
            valid_from_ms: now_ms.saturating_sub(3_600_000),
            valid_to_ms: now_ms + (3 + self.next(20)) * DAY_MS,
            max_uses: Some(2),
        };
        let granted = self
            .stage(vec![(self.cast.holder.clone(), Call::Auth(grant))])
            .await?;
        let grant = granted[0].context("history: a grant was refused")?;
        let uses = (0..1 + self.next(3))
            .map(|n| {
                let call = AuthCall::Use {
                    grant,
                    reason: "窗口受理时核验".into(),
                    licence: Some(self.cast.licence.clone()),
                    data_item: None,
                    action: Action::Verify,
                    result_digest: HashSuite::Sm3
                        .digest(format!("{grant} {now_ms} {n}").as_bytes()),
                };
                (self.cast.regulator.clone(), Call::Auth(call))
            })
            .collect();
        self.stage(uses).await?;
        if self.next(5) == 0 {
            let revoke = Call::Auth(AuthCall::Revoke { grant });
            self.stage(vec![(self.cast.holder.clone(), revoke)]).await?;
        }
        Ok(())
    }
}

/// The China day's start (ms) of a time.
fn day_start(ms: u64) -> u64 {
    (china_day(ms) as u64) * DAY_MS - CHINA_OFFSET_MS
}

/// Waits until the chain's block time reaches `target_ms`.
async fn wait_for_block_time(client: &Client, target_ms: u64) -> Result<u64> {
    loop {
        let head = client.latest_block().await?.header.timestamp_ms;
        if head >= target_ms {
            return Ok(head);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Plays a day of business for each China day from the chain's current block time up to today
/// (each at nine in the morning, when block time reaches it), then returns once block time has
/// caught up with the clock.
pub(crate) async fn load(
    dir: &std::path::Path,
    client: &Client,
    cast: &Cast<'_>,
) -> Result<HistoryReport> {
    let now = xinlian_sdk::now_ms();
    let mut block_time = client.latest_block().await?.header.timestamp_ms;
    // Each day from the one after the chain's first, at nine in the morning, Beijing time.
    let mut morning = day_start(block_time) + DAY_MS + 9 * HOUR_MS;
    if morning + HOUR_MS >= now {
        // A genesis of today: no history to play.
        return Ok(HistoryReport {
            days: 0,
            transactions: 0,
        });
    }
    let mut everyone = crate::coldchain_demo::actors_on_file(dir)?;
    for e in ENTERPRISES {
        let path = dir.join("keys").join(format!("history-{}.pem", e.0));
        let (key, uscc) = register(client, cast.regulator, &path, e).await?;
        everyone.push((key, uscc, e.2));
    }
    let pick = |kinds: &[EnterpriseKind]| -> Vec<(PrivateKey, Uscc)> {
        everyone
            .iter()
            .filter(|(_, _, kind)| kinds.contains(kind))
            .map(|(key, uscc, _)| (key.clone(), uscc.clone()))
            .collect()
    };
    let mut player = Player {
        client,
        cast,
        firsts: pick(&[EnterpriseKind::Importer, EnterpriseKind::Processor]),
        stores: pick(&[EnterpriseKind::ColdStore]),
        wholesalers: pick(&[EnterpriseKind::Wholesaler]),
        retailers: pick(&[
            EnterpriseKind::Supermarket,
            EnterpriseKind::Restaurant,
            EnterpriseKind::Ecommerce,
        ]),
        transactions: 0,
        seed: 20_261_201,
    };
    let mut days = 0;
    let mut coded: Vec<LotCode> = Vec::new();
    while morning + HOUR_MS < now {
        block_time = wait_for_block_time(client, morning).await?;
        days += 1;
        coded.extend(player.cold_chain_day(days).await?);
        player.auth_day(block_time).await?;
        let issuer = cast.issuer;
        let serial = format!("JY1410{days:04}{:06}", player.next(1_000_000));
        let holder = ENTERPRISES[player.next(ENTERPRISES.len() as u64) as usize].1;
        // Every third one ends within the month ahead: the console lists those expiring.
        let valid_to = if days % 3 == 0 {
            china_date(now + (5 + player.next(20)) * DAY_MS)
        } else {
            20310314
        };
        let licence = issuer
            .issue_food_licence(&serial, holder, valid_to)
            .await?
            .id;
        player.transactions += 1;
        if days % 6 == 0 {
            issuer
                .change(
                    &licence,
                    StatusAction::Suspend,
                    "日常监督检查发现问题，责令整改",
                )
                .await?;
            player.transactions += 1;
        }
        // Now and then a regulator holds a lot coded a day or two before, and recalls one; an
        // order the lot's state refuses (a recalled lot is not held again) is skipped.
        let hold: fn(LotCode, String) -> TraceCall = |lot, reason| TraceCall::Hold { lot, reason };
        let recall: fn(LotCode, String) -> TraceCall =
            |lot, reason| TraceCall::Recall { lot, reason };
        let orders = [
            (days % 5 == 0, 1, hold, "抽检待复核，暂停流通"),
            (days % 9 == 0, 2, recall, "外包装核酸检测阳性，全链召回"),
        ];
        for (due, back, order, reason) in orders {
            let Some(&lot) = coded.iter().rev().nth(back).filter(|_| due) else {
                continue;
            };
            let call = Call::Trace(order(lot, reason.into()));
            player.stage(vec![(cast.regulator.clone(), call)]).await?;
        }
        morning += DAY_MS;
    }
    // The demos after this one use the clock: wait until block time has caught up with it (to
    // within a time step: past that the leader cuts blocks as it would on any chain).
    wait_for_block_time(client, xinlian_sdk::now_ms() - BLOCK_TIME_STEP_MS_MAX).await?;
    Ok(HistoryReport {
        days,
        transactions: player.transactions,
    })
}

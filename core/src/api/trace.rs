//! JSON bodies of the traceability queries (`/v1/trace/...`).

use serde::{Deserialize, Serialize};

use crate::Hash;
use crate::ids::Uscc;
use crate::trace::{
    Certificate, EnterpriseKind, EventKind, ImportDetails, LotCode, Serials, TraceCode,
};

/// An enterprise as queries show it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnterpriseRef {
    /// Its USCC.
    pub uscc: Uscc,
    /// Its name (the organisation's name for a regulator).
    pub name: String,
    /// What it is (absent for a regulator or other non-enterprise organisation).
    pub kind: Option<EnterpriseKind>,
    /// The kind's Chinese label.
    pub kind_label: String,
    /// Its region (0 when not an enterprise).
    pub region: u32,
}

/// Where a code stands.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodeStatus {
    /// In circulation.
    Normal,
    /// Its lot, or a lot it came from, is held by a regulator.
    Held,
    /// Its lot, or a lot it came from, is recalled.
    Recalled,
    /// Sold to a consumer.
    Sold,
    /// Disposed of.
    Disposed,
    /// Repacked into a child lot.
    Split,
    /// Shipped and not yet received.
    InTransit,
}

/// One event, as a hop of the timeline.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hop {
    /// What happened.
    pub kind: EventKind,
    /// Its Chinese label.
    pub label: String,
    /// Who acted.
    pub actor: EnterpriseRef,
    /// The other side (receiver of a shipment, sender of a receipt).
    pub counterparty: Option<EnterpriseRef>,
    /// Packages concerned (0 for lot-wide events).
    pub quantity: u64,
    /// The child lot of a split, the parent of a split-from.
    pub related_lot: Option<LotCode>,
    /// Shipment id, certificate or temperature-log digest.
    pub reference: Option<Hash>,
    /// Reason or note.
    pub note: String,
    /// Block time (ms).
    pub at_ms: u64,
    /// Height.
    pub height: u64,
    /// Transaction.
    pub tx: Hash,
}

/// One lot of a code's lineage with the events that concern the code.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LotHops {
    /// The lot.
    pub lot: LotCode,
    /// Who coded it.
    pub coded_by: EnterpriseRef,
    /// Its package specification.
    pub specification: String,
    /// Its package unit.
    pub unit: String,
    /// Packages coded.
    pub packages: u32,
    /// Its events concerning the code, oldest first.
    pub hops: Vec<Hop>,
    /// Whether more events exist than were read (a very busy lot).
    pub truncated: bool,
}

/// Answer to `GET /v1/trace/codes/{code}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeTrace {
    /// The code asked for.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub code: TraceCode,
    /// Its lot.
    pub lot: LotCode,
    /// Where it stands.
    pub status: CodeStatus,
    /// The regulator's reason, when held or recalled.
    pub order_reason: Option<String>,
    /// The lot the order is on (the code's own or an ancestor).
    pub order_lot: Option<LotCode>,
    /// Who holds it now (a package in someone's stock).
    pub holder: Option<EnterpriseRef>,
    /// Product name.
    pub product: String,
    /// Product category.
    pub category: String,
    /// Package specification.
    pub specification: String,
    /// GTIN, if any.
    pub gtin: Option<String>,
    /// GS1 Digital Link path, when there is a GTIN.
    pub digital_link: Option<String>,
    /// Origin country.
    pub origin_country: String,
    /// Production date, `YYYYMMDD`.
    pub production_date: u32,
    /// Shelf life in days.
    pub shelf_life_days: u32,
    /// Batch.
    pub batch: String,
    /// Import details of the first-station lot.
    pub import: Option<ImportDetails>,
    /// Certificates of the lot and the lots it came from.
    pub certificates: Vec<Certificate>,
    /// The lot and its ancestors, this lot first, the first station last.
    pub lineage: Vec<LotHops>,
    /// With `?proof=true`: the state entries this trace was derived from, proved under a
    /// certified block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<Box<crate::proof::ProofBundle>>,
}

/// One enterprise's part in one lot of a recall list.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HolderRow {
    /// The enterprise.
    pub enterprise: EnterpriseRef,
    /// The lot (the recalled one or a descendant).
    pub lot: LotCode,
    /// Product specification of that lot.
    pub specification: String,
    /// Received (coded, for whoever coded the lot).
    pub received: u64,
    /// Shipped on.
    pub shipped: u64,
    /// Sold to consumers.
    pub sold: u64,
    /// Disposed of.
    pub disposed: u64,
    /// Repacked into child lots.
    pub split: u64,
    /// In stock now.
    pub stock: u64,
    /// First receipt (ms).
    pub first_in_ms: u64,
    /// Latest event (ms).
    pub last_event_ms: u64,
}

/// Answer to `GET /v1/trace/codes/{code}/holders`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecallList {
    /// The lot the list is for.
    pub lot: LotCode,
    /// It and its descendants on this page, in the order they were coded (a lot before the lots
    /// split from it). A large recall comes a page of lots at a time: follow `next`.
    pub lots: Vec<LotCode>,
    /// All lots of the recall, on every page.
    #[serde(default)]
    pub lots_total: u64,
    /// Package codes under this page's lots (each lot's packages).
    pub codes: u64,
    /// Every enterprise that held any part of this page's lots, per lot, filtered as asked.
    pub holders: Vec<HolderRow>,
    /// Packages in stock across the rows.
    pub stock_total: u64,
    /// Packages in transit (shipped, not received) across this page's lots.
    pub in_transit_total: u64,
    /// The link to the next page of lots (the same query with `after=<cursor>`), absent on the
    /// last page. The SDK's `trace_holders` follows it and adds the pages up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// Whether a bound of the node cut the recall short (more than 100,000 lots in all, or more
    /// than 10,000 holders or child lots of one lot): what is past it is not listed on any page.
    /// Never cut silently.
    #[serde(default)]
    pub truncated: bool,
}

/// A lot in a search result or a stock list.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LotSummary {
    /// The lot.
    pub lot: LotCode,
    /// Product name.
    pub product: String,
    /// Specification.
    pub specification: String,
    /// Unit.
    pub unit: String,
    /// Origin country.
    pub origin_country: String,
    /// Batch.
    pub batch: String,
    /// Packages coded.
    pub packages: u32,
    /// Who coded it.
    pub coded_by: Uscc,
    /// When (ms).
    pub coded_at_ms: u64,
    /// The regulator's order, if any: `held` or `recalled`.
    pub order: Option<String>,
}

/// Answer to `GET /v1/trace/lots`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LotsResponse {
    /// Matching lots, oldest first.
    pub lots: Vec<LotSummary>,
    /// The link to the next page (the same query with `after=<cursor>`), absent when no more
    /// lots match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// A lot in an enterprise's stock.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockLine {
    /// The lot.
    pub lot: LotSummary,
    /// Packages in stock.
    pub stock: u64,
    /// Which serials.
    pub serials: Serials,
}

/// A shipment awaiting receipt.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncomingShipment {
    /// Shipment id (use it to receive).
    pub shipment: Hash,
    /// The lot.
    pub lot: LotCode,
    /// From.
    pub from: Uscc,
    /// Packages.
    pub quantity: u64,
    /// Shipped at (ms).
    pub shipped_at_ms: u64,
}

/// Answer to `GET /v1/trace/enterprises/{uscc}/stock`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockResponse {
    /// The enterprise.
    pub enterprise: EnterpriseRef,
    /// Lots in stock.
    pub lines: Vec<StockLine>,
    /// Shipments on their way to it. A page holds the stock lines first, then the incoming
    /// shipments, up to its limit in all.
    pub incoming: Vec<IncomingShipment>,
    /// The link to the next page (the same query with `after=<cursor>`), absent on the last.
    /// The SDK's `enterprise_stock` follows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// Answer to `GET /v1/trace/lots/by-tx/{hash}`: the lot a commissioning or split coded.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodedLot {
    /// The lot.
    pub lot: LotCode,
}

//! Bodies of the regulator's console (`/v1/console/…`): the signed login, the aggregates each
//! page charts, a lot's flow and the explorer's block list.
//!
//! Aggregates come as rows of (day, dimensions, value): a page pivots them as it charts them, so
//! one shape serves every chart and a new dimension needs no new type.

use serde::{Deserialize, Serialize};

use crate::Hash;
use crate::api::trace::{EnterpriseRef, LotSummary};
use crate::crypto::{PublicKey, Signature};
use crate::ids::Uscc;
use crate::licence::LicenceId;
use crate::trace::LotCode;

/// What a session may see.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsoleView {
    /// A member of a regulator or an audit organisation: every page, recalls and lot flows
    /// included.
    Regulator,
    /// A member of any other organisation (an issuing department, the chain's administration,
    /// an enterprise): the overview, licences, authorisation and the explorer.
    Department,
}

/// Answer to `POST /v1/console/challenge`: what the member's key signs to log in.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginChallenge {
    /// 32 random bytes, hex; good for one login.
    pub challenge: String,
    /// The exact UTF-8 text to sign (it names the chain and the challenge).
    pub message: String,
    /// When it stops being accepted (ms since the epoch).
    pub expires_at_ms: u64,
}

/// `POST /v1/console/login`: the signed challenge.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The member's public key (`sm2:…` or `ed25519:…`).
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub public_key: PublicKey,
    /// The challenge, as `POST /v1/console/challenge` gave it.
    pub challenge: String,
    /// The signature over the challenge's `message` (128 hex digits).
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub signature: Signature,
}

/// Who a console session is for (answer to login and to `GET /v1/console/session`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleSession {
    /// The member's key.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub member: PublicKey,
    /// The member's name.
    pub name: String,
    /// The member's organisation.
    pub org: Uscc,
    /// The organisation's name.
    pub org_name: String,
    /// What the session may see.
    pub view: ConsoleView,
    /// When the session ends (ms since the epoch).
    pub expires_at_ms: u64,
}

/// One counter on one day.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DailyCount {
    /// The day in China, `YYYY-MM-DD`.
    pub day: String,
    /// The counter's dimensions, in the order the field's description gives.
    pub dims: Vec<String>,
    /// The count.
    pub value: u64,
}

/// One counter of how many are in a state now.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GaugeCount {
    /// The counter's dimensions.
    pub dims: Vec<String>,
    /// The count.
    pub value: u64,
}

/// The days an answer covers, oldest first, each `YYYY-MM-DD` in China.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayRange {
    /// First day.
    pub from: String,
    /// Last day (today).
    pub to: String,
}

/// Answer to `GET /v1/console/overview`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverviewStats {
    /// The days covered.
    pub days: DayRange,
    /// Transactions per day; dims: call name (`contract.method`), outcome (`ok` or the
    /// refusal code).
    pub transactions: Vec<DailyCount>,
}

/// A lot under a regulator's order, with what the recall list says of it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenOrder {
    /// The lot.
    pub lot: LotSummary,
    /// `held` or `recalled`.
    pub order: String,
    /// It and the lots split from it.
    pub lots: u64,
    /// Enterprises that held any part of it.
    pub enterprises: u64,
    /// Packages still in stock.
    pub stock: u64,
    /// Packages shipped and not yet received.
    pub in_transit: u64,
}

/// Answer to `GET /v1/console/coldchain`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColdChainStats {
    /// The days covered.
    pub days: DayRange,
    /// Successful cold-chain calls per day; dims: call name, the acting enterprise's region
    /// (`-` for a regulator), its kind (`importer`, …, or `-`).
    pub calls: Vec<DailyCount>,
    /// Packages commissioned per day; dims: region, kind of the first station.
    pub packages: Vec<DailyCount>,
    /// Lots under an order now; dims: `held` or `recalled`.
    pub orders: Vec<GaugeCount>,
    /// The open orders, newest lots first (at most 20).
    pub open_orders: Vec<OpenOrder>,
    /// Whether more lots are under an order than listed.
    pub open_orders_more: bool,
}

/// A licence whose validity ends soon.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpiringLicence {
    /// The licence.
    pub id: LicenceId,
    /// Its name.
    pub name: String,
    /// The last day of its validity, `YYYYMMDD`.
    pub valid_to: u32,
}

/// The name of a code an answer's dimensions use (a licence type, an organisation).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedCode {
    /// The code, as in the dimensions.
    pub code: String,
    /// Its name on chain.
    pub name: String,
}

/// Answer to `GET /v1/console/licences`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicenceStats {
    /// The days covered.
    pub days: DayRange,
    /// Licences recorded per day (issued, renewed, transferred in); dims: type code.
    pub issued: Vec<DailyCount>,
    /// Licences by state now; dims: type code, state (`valid`, `suspended`, `revoked`,
    /// `rescinded`, `cancelled`, `transferred_out`, or `superseded` once renewed).
    pub states: Vec<GaugeCount>,
    /// Live licences whose validity ends within 30 days, soonest first (at most 50).
    pub expiring: Vec<ExpiringLicence>,
    /// How many live licences end within 30 days.
    pub expiring_total: u64,
    /// Licences whose recorded state is valid but whose validity has ended (expiry is derived,
    /// never recorded), by type code; `states` still counts them as valid.
    pub expired: Vec<GaugeCount>,
    /// Verifications this node answered per day; dims: channel (`api`, `qr`, `page`),
    /// verdict (`acceptable`, `not_acceptable`, `unknown`), the window's label (`-` when it
    /// gave none). Counted by each node for itself: a verification is a read and leaves nothing
    /// on chain.
    pub verifications: Vec<DailyCount>,
    /// The names of the licence types in the dimensions.
    pub names: Vec<NamedCode>,
}

/// Answer to `GET /v1/console/auth`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthStats {
    /// The days covered.
    pub days: DayRange,
    /// Grants per day; dims: `granted` or `revoked`.
    pub grants: Vec<DailyCount>,
    /// Grants not revoked whose window has not ended (in force, or yet to begin).
    pub live: u64,
    /// Recorded uses per day; dims: the using department's USCC, the matter code, the matter's
    /// name.
    pub uses: Vec<DailyCount>,
    /// Refused uses per day; dims: the refusal code.
    pub refused: Vec<DailyCount>,
    /// The names of the departments in the dimensions.
    pub names: Vec<NamedCode>,
}

/// A holder, or where packages left the chain, in a lot's flow.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowNode {
    /// Stable id: the USCC, or `sold`, `disposed`, `stock:<USCC>`.
    pub id: String,
    /// What to show.
    pub name: String,
    /// The enterprise, for a holder.
    pub enterprise: Option<EnterpriseRef>,
}

/// Packages that moved from one node of the flow to another.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowLink {
    /// Source node id.
    pub source: String,
    /// Target node id.
    pub target: String,
    /// Packages (in the unit of the lots they belong to).
    pub packages: u64,
    /// Whether they belong to a recalled lot.
    pub recalled: bool,
}

/// Answer to `GET /v1/console/lots/{lot}/flow`: where a lot and the lots split from it went.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LotFlow {
    /// The lot.
    pub lot: LotSummary,
    /// It and its descendants, in coding order.
    pub lots: Vec<LotCode>,
    /// Holders and sinks.
    pub nodes: Vec<FlowNode>,
    /// Movements, summed per (source, target, recalled).
    pub links: Vec<FlowLink>,
    /// Packages recalled (in recalled lots) still in stock.
    pub recalled_in_stock: u64,
    /// Whether goods came back to an earlier holder (then the flow is a graph, not a Sankey).
    pub cyclic: bool,
    /// Whether a bound cut the flow short (lots or events past it are not drawn).
    pub truncated: bool,
}

/// A block as the explorer lists it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockSummary {
    /// Height.
    pub height: u64,
    /// Header hash.
    pub hash: Hash,
    /// Block time (ms since the epoch).
    pub timestamp_ms: u64,
    /// Transactions in it.
    pub txs: u32,
    /// The proposing node's key.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub proposer: PublicKey,
    /// Whether this node holds its commit certificate.
    pub certified: bool,
}

/// Answer to `GET /v1/console/blocks`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockList {
    /// Newest first.
    pub blocks: Vec<BlockSummary>,
    /// The `before` to ask for the next (older) page, absent at the first block.
    pub next_before: Option<u64>,
}

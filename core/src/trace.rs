//! Cold-chain traceability (冷链食品溯源): trace codes, package ranges, and the records the
//! cold-chain contract keeps. The node's queries and the SDK read the same types.
//!
//! Every quantity is a count of smallest packages, and every smallest package has a code: lot
//! `L`'s packages are serials `1..=packages`. A holder's stock is a set of serial ranges, so
//! quantity-based moves (the lowest serials first) and code-based moves are exact about which
//! package is where, and stay compact: a lot of 100,000 packages moved in a few batches is a few
//! ranges, never 100,000 records.

use std::fmt;
use std::str::FromStr;

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::Hash;
use crate::ids::{Uscc, mod37_36_check};
use crate::{Error, Result};

/// Most packages one commissioning or split may code (the issue asks for at least 100,000).
pub const PACKAGES_PER_LOT_MAX: u32 = 1_000_000;
/// Most ranges one selection may name (a list of scattered codes is a list of ranges).
pub const SELECTION_RANGES_MAX: usize = 1_000;
/// Most certificates on one lot.
pub const CERTIFICATES_MAX: usize = 32;

/// A lot number: the first station's 6-digit region code, then a 10-digit chain-wide sequence.
pub type LotNumber = u64;

const REGION_FACTOR: u64 = 10_000_000_000;

crate::text_serde::serde_as_text!(
    TraceCode,
    "^[0-9]{16}(-[1-9][0-9]{0,6})?[0-9A-Z]$",
    "Trace code: 16-digit lot number, optional -serial, and a MOD 37,36 check character"
);
crate::text_serde::serde_as_text!(
    LotCode,
    "^[0-9]{16}[0-9A-Z]$",
    "Lot code: 16-digit lot number and a MOD 37,36 check character"
);

/// A trace code: a lot, or one package of it.
///
/// Text form: the 16-digit lot number, `-` and the serial for a package, then one check
/// character (ISO/IEC 7064 MOD 37,36 over the digits, without the hyphen). Examples:
/// `4101000000000001` + check for a lot, `4101000000000001-42` + check for its package 42.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TraceCode {
    /// The lot.
    pub lot: LotNumber,
    /// The package, when the code names one.
    pub serial: Option<u32>,
}

impl TraceCode {
    /// The lot number for `region` and sequence `seq`.
    pub fn lot_number(region: u32, seq: u64) -> LotNumber {
        u64::from(region) * REGION_FACTOR + seq
    }

    /// The chain-wide sequence number of a lot: lots are numbered in the order they are coded,
    /// whatever their region, so a lot split from another has a higher one.
    pub fn lot_seq(lot: LotNumber) -> u64 {
        lot % REGION_FACTOR
    }

    /// The region (GB/T 2260) of the first station that coded the lot.
    pub fn region(&self) -> u32 {
        (self.lot / REGION_FACTOR) as u32
    }

    fn body(&self) -> String {
        match self.serial {
            Some(serial) => format!("{:016}{serial}", self.lot),
            None => format!("{:016}", self.lot),
        }
    }

    /// The GS1 Digital Link path for a product with `gtin` and `batch`:
    /// `/01/<GTIN-14>/10/<batch>/21/<this code>`.
    pub fn digital_link(&self, gtin: &str, batch: &str) -> String {
        format!("/01/{gtin:0>14}/10/{batch}/21/{self}")
    }
}

impl fmt::Display for TraceCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let check = mod37_36_check(&self.body()).unwrap_or('0');
        match self.serial {
            Some(serial) => write!(f, "{:016}-{serial}{check}", self.lot),
            None => write!(f, "{:016}{check}", self.lot),
        }
    }
}

impl FromStr for TraceCode {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        let invalid = |reason: &str| Error::InvalidIdentifier {
            value: text.chars().take(64).collect(),
            reason: reason.to_string(),
        };
        let (body, check) = text
            .char_indices()
            .last()
            .map(|(i, c)| (&text[..i], c))
            .ok_or_else(|| invalid("empty"))?;
        let (lot_text, serial_text) = match body.split_once('-') {
            Some((lot, serial)) => (lot, Some(serial)),
            None => (body, None),
        };
        if lot_text.len() != 16 || !lot_text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid("a trace code starts with a 16-digit lot number"));
        }
        let lot: u64 = lot_text.parse().map_err(|_| invalid("lot number"))?;
        let serial = match serial_text {
            None => None,
            Some(s)
                if !s.is_empty()
                    && s.len() <= 7
                    && !s.starts_with('0')
                    && s.bytes().all(|b| b.is_ascii_digit()) =>
            {
                Some(s.parse::<u32>().map_err(|_| invalid("serial"))?)
            }
            Some(_) => {
                return Err(invalid(
                    "the package serial is 1 to 7 digits without leading zeros",
                ));
            }
        };
        let code = TraceCode { lot, serial };
        let expected = mod37_36_check(&code.body()).ok_or_else(|| invalid("digits only"))?;
        if check != expected {
            return Err(invalid(crate::ids::MISTYPED));
        }
        Ok(code)
    }
}

/// A lot's code (a [`TraceCode`] without a serial): what calls name lots by. JSON and text use
/// the code with its check character; the canonical encoding is the lot number.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, BorshSerialize, BorshDeserialize,
)]
pub struct LotCode(pub LotNumber);

impl fmt::Display for LotCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        TraceCode {
            lot: self.0,
            serial: None,
        }
        .fmt(f)
    }
}

impl FromStr for LotCode {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        let code: TraceCode = text.parse()?;
        match code.serial {
            None => Ok(LotCode(code.lot)),
            Some(_) => Err(Error::InvalidIdentifier {
                value: text.to_string(),
                reason: "a package code where a lot code is expected".into(),
            }),
        }
    }
}

/// Which packages of a lot a movement takes.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Selection {
    /// This many packages: the sender's lowest serials in stock.
    Quantity(u32),
    /// These serials (package codes scanned one by one, as ranges).
    Serials(Serials),
}

/// Methods of the cold-chain contract.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[allow(clippy::large_enum_variant)] // a wire type, decoded once per transaction
pub enum TraceCall {
    /// The market regulator (an organisation with the enterprise-registrar role) registers an
    /// enterprise and its first admin keys.
    RegisterEnterprise {
        /// Its USCC.
        uscc: Uscc,
        /// Its name.
        name: String,
        /// What it is.
        kind: EnterpriseKind,
        /// Administrative region (GB/T 2260, 6 digits).
        region: u32,
        /// Address.
        address: String,
        /// Contact.
        contact: String,
        /// Its first admins; they register the enterprise's operators with `system.register_member`.
        admins: Vec<crate::crypto::PublicKey>,
    },
    /// A first station codes a lot down to its smallest packages (首站赋码).
    Commission {
        /// The product.
        product: Product,
        /// Origin country (ISO 3166-1 alpha-2).
        origin_country: String,
        /// Production date, `YYYYMMDD`.
        production_date: u32,
        /// Shelf life in days.
        shelf_life_days: u32,
        /// Batch number.
        batch: String,
        /// Smallest packages to code (1 to 1,000,000).
        packages: u32,
        /// What one package is (箱, 袋, 件).
        unit: String,
        /// Import details, for imported goods.
        #[serde(default)]
        import: Option<ImportDetails>,
        /// Certificates at hand.
        #[serde(default)]
        certificates: Vec<Certificate>,
    },
    /// The holder ships packages to a registered enterprise (出库); in transit until received.
    Ship {
        /// The lot.
        lot: LotCode,
        /// The receiver.
        to: Uscc,
        /// Which packages.
        select: Selection,
        /// Digest of the leg's temperature log.
        #[serde(default)]
        temperature_log: Option<Hash>,
    },
    /// The receiver confirms a shipment (入库).
    Receive {
        /// The shipment (the shipping transaction's hash).
        shipment: Hash,
    },
    /// The holder splits or repacks packages into a child lot with its own codes (分装).
    Split {
        /// The lot.
        lot: LotCode,
        /// Which packages are repacked.
        select: Selection,
        /// Packages of the child lot.
        packages: u32,
        /// The child's package specification, e.g. `500g/袋`.
        specification: String,
        /// The child's package unit.
        unit: String,
    },
    /// The holder sells packages to consumers.
    Sell {
        /// The lot.
        lot: LotCode,
        /// Which packages.
        select: Selection,
    },
    /// The holder disposes of packages.
    Dispose {
        /// The lot.
        lot: LotCode,
        /// Which packages.
        select: Selection,
        /// Why.
        reason: String,
    },
    /// The coder, a holder or a regulator attaches a certificate later.
    AttachCertificate {
        /// The lot.
        lot: LotCode,
        /// The certificate.
        certificate: Certificate,
    },
    /// A regulator stops a lot (and its child lots) from moving.
    Hold {
        /// The lot.
        lot: LotCode,
        /// Why.
        reason: String,
    },
    /// A regulator lifts a hold.
    Release {
        /// The lot.
        lot: LotCode,
        /// Why.
        reason: String,
    },
    /// A regulator orders a recall (final).
    Recall {
        /// The lot.
        lot: LotCode,
        /// Why.
        reason: String,
    },
}

impl TraceCall {
    /// `trace.method`.
    pub fn name(&self) -> &'static str {
        match self {
            TraceCall::RegisterEnterprise { .. } => "trace.register_enterprise",
            TraceCall::Commission { .. } => "trace.commission",
            TraceCall::Ship { .. } => "trace.ship",
            TraceCall::Receive { .. } => "trace.receive",
            TraceCall::Split { .. } => "trace.split",
            TraceCall::Sell { .. } => "trace.sell",
            TraceCall::Dispose { .. } => "trace.dispose",
            TraceCall::AttachCertificate { .. } => "trace.attach_certificate",
            TraceCall::Hold { .. } => "trace.hold",
            TraceCall::Release { .. } => "trace.release",
            TraceCall::Recall { .. } => "trace.recall",
        }
    }
}

/// Package serials as sorted, disjoint, non-adjacent inclusive ranges.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Eq, BorshSerialize, Serialize, Deserialize)]
#[serde(try_from = "Vec<(u32, u32)>", into = "Vec<(u32, u32)>")]
pub struct Serials(Vec<(u32, u32)>);

/// The canonical encoding holds the ranges as they are kept (sorted, disjoint, not adjacent), and
/// nothing else: ranges that would be merged are refused rather than merged, so a transaction has
/// one encoding (found by the `decode` fuzz target: two adjacent ranges decoded to one range and
/// encoded back shorter). JSON from clients may still list ranges in any form
/// ([`Serials::try_from`]).
impl BorshDeserialize for Serials {
    fn deserialize_reader<R: std::io::Read>(reader: &mut R) -> std::io::Result<Self> {
        let ranges = Vec::<(u32, u32)>::deserialize_reader(reader)?;
        let invalid = |e: String| std::io::Error::new(std::io::ErrorKind::InvalidData, e);
        let kept = ranges.windows(2).all(|pair| {
            let ((_, end), (next, _)) = (pair[0], pair[1]);
            end.checked_add(1).is_some_and(|after| after < next)
        });
        if !kept {
            return Err(invalid(
                "serial ranges must be sorted, disjoint and not adjacent".into(),
            ));
        }
        Serials::try_from(ranges).map_err(invalid)
    }
}

impl TryFrom<Vec<(u32, u32)>> for Serials {
    type Error = String;

    /// Accepts ranges in any order; refuses empty (`from > to`) ones and serial 0, and merges
    /// overlapping or adjacent ones.
    fn try_from(mut ranges: Vec<(u32, u32)>) -> std::result::Result<Self, String> {
        if let Some((from, to)) = ranges.iter().find(|(from, to)| *from == 0 || from > to) {
            return Err(format!(
                "range {from}..={to}: serials start at 1 and from <= to"
            ));
        }
        ranges.sort_unstable();
        let mut merged: Vec<(u32, u32)> = Vec::with_capacity(ranges.len());
        for (from, to) in ranges {
            match merged.last_mut() {
                Some(last) if from <= last.1.saturating_add(1) => last.1 = last.1.max(to),
                _ => merged.push((from, to)),
            }
        }
        Ok(Serials(merged))
    }
}

impl From<Serials> for Vec<(u32, u32)> {
    fn from(serials: Serials) -> Self {
        serials.0
    }
}

impl Serials {
    /// Serials `1..=n` (empty for 0).
    pub fn first(n: u32) -> Self {
        Serials(if n == 0 { Vec::new() } else { vec![(1, n)] })
    }

    /// The ranges.
    pub fn ranges(&self) -> &[(u32, u32)] {
        &self.0
    }

    /// How many serials.
    pub fn count(&self) -> u64 {
        self.0.iter().map(|(a, b)| u64::from(b - a) + 1).sum()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `serial` is in the set.
    pub fn contains(&self, serial: u32) -> bool {
        let i = self.0.partition_point(|(_, to)| *to < serial);
        self.0.get(i).is_some_and(|(from, _)| *from <= serial)
    }

    /// Whether every serial of `other` is in this set.
    pub fn contains_all(&self, other: &Serials) -> bool {
        other.0.iter().all(|(from, to)| {
            let i = self.0.partition_point(|(_, end)| end < from);
            self.0
                .get(i)
                .is_some_and(|(start, end)| start <= from && to <= end)
        })
    }

    /// Whether any serial of `other` is in this set.
    pub fn intersects(&self, other: &Serials) -> bool {
        other.0.iter().any(|(from, to)| {
            let i = self.0.partition_point(|(_, end)| end < from);
            self.0.get(i).is_some_and(|(start, _)| start <= to)
        })
    }

    /// The `n` lowest serials, or `None` when there are fewer.
    pub fn lowest(&self, n: u64) -> Option<Serials> {
        let mut left = n;
        let mut out = Vec::new();
        for (from, to) in &self.0 {
            if left == 0 {
                break;
            }
            let size = u64::from(to - from) + 1;
            let take = size.min(left);
            out.push((*from, from + (take - 1) as u32));
            left -= take;
        }
        (left == 0).then_some(Serials(out))
    }

    /// Adds `other`.
    pub fn insert(&mut self, other: &Serials) {
        let all = [self.0.as_slice(), other.0.as_slice()].concat();
        *self = Serials::try_from(all).unwrap_or_default();
    }

    /// Removes `other`, which must be a subset (checked by the caller with
    /// [`Serials::contains_all`]).
    pub fn remove(&mut self, other: &Serials) {
        let mut out = Vec::with_capacity(self.0.len() + other.0.len());
        let mut cut = other.0.iter().peekable();
        for &(from, to) in &self.0 {
            let mut start = from;
            while let Some(&&(a, b)) = cut.peek() {
                if a > to {
                    break;
                }
                if b < start {
                    cut.next();
                    continue;
                }
                if a > start {
                    out.push((start, a - 1));
                }
                if b >= to {
                    start = u32::MAX;
                    break;
                }
                start = b + 1;
                cut.next();
            }
            if start != u32::MAX && start <= to {
                out.push((start, to));
            }
        }
        self.0 = out;
    }
}

/// What an enterprise is in the cold chain.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[borsh(use_discriminant = true)]
pub enum EnterpriseKind {
    /// Importer or first station (进口商, 首站).
    Importer = 0,
    /// Cold store (冷库).
    ColdStore = 1,
    /// Processor (生产加工).
    Processor = 2,
    /// Wholesaler (批发).
    Wholesaler = 3,
    /// Supermarket (商超).
    Supermarket = 4,
    /// Restaurant or canteen (餐饮).
    Restaurant = 5,
    /// Fresh-food e-commerce (生鲜电商).
    Ecommerce = 6,
    /// Anything else.
    Other = 7,
}

impl EnterpriseKind {
    /// Whether it may code lots at the first station.
    pub fn may_commission(self) -> bool {
        matches!(
            self,
            EnterpriseKind::Importer | EnterpriseKind::ColdStore | EnterpriseKind::Processor
        )
    }

    /// The name in JSON (snake case), as the console's aggregates key it.
    pub fn name(self) -> &'static str {
        match self {
            EnterpriseKind::Importer => "importer",
            EnterpriseKind::ColdStore => "cold_store",
            EnterpriseKind::Processor => "processor",
            EnterpriseKind::Wholesaler => "wholesaler",
            EnterpriseKind::Supermarket => "supermarket",
            EnterpriseKind::Restaurant => "restaurant",
            EnterpriseKind::Ecommerce => "ecommerce",
            EnterpriseKind::Other => "other",
        }
    }

    /// The Chinese label shown to users.
    pub fn label(self) -> &'static str {
        match self {
            EnterpriseKind::Importer => "进口商/首站",
            EnterpriseKind::ColdStore => "冷库",
            EnterpriseKind::Processor => "生产加工",
            EnterpriseKind::Wholesaler => "批发",
            EnterpriseKind::Supermarket => "商超",
            EnterpriseKind::Restaurant => "餐饮",
            EnterpriseKind::Ecommerce => "生鲜电商",
            EnterpriseKind::Other => "其他",
        }
    }
}

/// A registered cold-chain enterprise.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Enterprise {
    /// Its USCC.
    pub uscc: Uscc,
    /// Its name.
    pub name: String,
    /// What it is.
    pub kind: EnterpriseKind,
    /// Administrative region (GB/T 2260, 6 digits).
    pub region: u32,
    /// Address.
    pub address: String,
    /// Contact (person and phone).
    pub contact: String,
    /// Height it was registered at.
    pub registered_height: u64,
}

/// The product of a lot.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Product {
    /// Name, e.g. 冷冻带骨牛肉.
    pub name: String,
    /// Category, e.g. 肉类, 水产.
    pub category: String,
    /// Specification of the smallest package, e.g. `20kg/箱`.
    pub specification: String,
    /// GTIN (8, 12, 13 or 14 digits), when the product has one.
    #[serde(default)]
    pub gtin: Option<String>,
}

/// Import details of a first-station lot.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportDetails {
    /// Customs declaration number (报关单号).
    pub customs_declaration: String,
    /// Port of entry (入境口岸).
    pub entry_port: String,
}

/// Kinds of certificate a lot can carry.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[borsh(use_discriminant = true)]
pub enum CertificateKind {
    /// Inspection and quarantine certificate (检验检疫证明).
    InspectionQuarantine = 0,
    /// Nucleic-acid test report (核酸检测报告).
    NucleicAcidTest = 1,
    /// Disinfection certificate (消毒证明).
    Disinfection = 2,
    /// Customs declaration (报关单).
    CustomsDeclaration = 3,
    /// Any other document.
    Other = 4,
}

impl CertificateKind {
    /// The Chinese label shown to users.
    pub fn label(self) -> &'static str {
        match self {
            CertificateKind::InspectionQuarantine => "检验检疫证明",
            CertificateKind::NucleicAcidTest => "核酸检测报告",
            CertificateKind::Disinfection => "消毒证明",
            CertificateKind::CustomsDeclaration => "报关单",
            CertificateKind::Other => "其他证明",
        }
    }
}

/// A certificate: the document stays with its holder; the chain keeps its digest.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Certificate {
    /// What it is.
    pub kind: CertificateKind,
    /// Its number.
    pub number: String,
    /// Who issued it.
    pub issuer: String,
    /// Digest of the document under the chain's hash suite (SM3 on a gm chain).
    pub digest: Hash,
}

/// A regulator's standing order on a lot.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LotOrder {
    /// No order.
    None,
    /// Held (暂停流通) pending investigation.
    Held {
        /// Why.
        reason: String,
    },
    /// Recalled (召回): final.
    Recalled {
        /// Why.
        reason: String,
    },
}

/// A coded lot: commissioned at the first station, or split from a parent lot.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Lot {
    /// Its number.
    pub number: LotNumber,
    /// The product.
    pub product: Product,
    /// Origin country (ISO 3166-1 alpha-2).
    pub origin_country: String,
    /// Production date, `YYYYMMDD`.
    pub production_date: u32,
    /// Shelf life in days.
    pub shelf_life_days: u32,
    /// Batch number (批号).
    pub batch: String,
    /// Smallest packages coded (serials `1..=packages`).
    pub packages: u32,
    /// What one package is (箱, 袋, 件).
    pub unit: String,
    /// Import details, for an imported first-station lot.
    pub import: Option<ImportDetails>,
    /// Certificates attached so far.
    pub certificates: Vec<Certificate>,
    /// The enterprise that coded it.
    pub coded_by: Uscc,
    /// For a split lot: the parent and the parent's serials it was made from.
    pub parent: Option<(LotNumber, Serials)>,
    /// The regulator's order.
    pub order: LotOrder,
    /// Packages sold to consumers.
    pub sold: Serials,
    /// Packages disposed of.
    pub disposed: Serials,
    /// Packages consumed by splits into child lots.
    pub split: Serials,
    /// Block time it was coded at (ms).
    pub coded_at_ms: u64,
    /// Height it was coded at.
    pub coded_height: u64,
    /// Events recorded on it.
    pub events: u32,
}

/// What one enterprise did with one lot.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(
    Clone, Debug, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
pub struct Holding {
    /// Packages in stock now (received and not shipped, sold, disposed or split).
    pub stock: Serials,
    /// Packages received (coded, for the first station).
    pub received: u64,
    /// Packages shipped out.
    pub shipped: u64,
    /// Packages sold to consumers.
    pub sold: u64,
    /// Packages disposed of.
    pub disposed: u64,
    /// Packages split into child lots.
    pub split: u64,
    /// Block time of its first receipt (ms).
    pub first_in_ms: u64,
    /// Block time of its latest event (ms).
    pub last_event_ms: u64,
}

/// A shipment (出库) in transit until the receiver confirms it (入库).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Shipment {
    /// Its id (the shipping transaction's hash).
    pub id: Hash,
    /// The lot.
    pub lot: LotNumber,
    /// Sender.
    pub from: Uscc,
    /// Receiver.
    pub to: Uscc,
    /// The packages.
    pub serials: Serials,
    /// Digest of the leg's temperature log, if recorded.
    pub temperature_log: Option<Hash>,
    /// Block time shipped (ms).
    pub shipped_at_ms: u64,
    /// Block time received (ms), once received.
    pub received_at_ms: Option<u64>,
}

/// Kinds of trace event.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[borsh(use_discriminant = true)]
pub enum EventKind {
    /// Coded at the first station (首站赋码).
    Commissioned = 0,
    /// Shipped out (出库).
    Shipped = 1,
    /// Received (入库).
    Received = 2,
    /// Split into a child lot (分装).
    Split = 3,
    /// Made from a parent lot by a split.
    SplitFrom = 4,
    /// Sold to consumers.
    Sold = 5,
    /// Disposed of.
    Disposed = 6,
    /// A certificate was attached.
    CertificateAttached = 7,
    /// Held by the regulator.
    Held = 8,
    /// Released by the regulator.
    Released = 9,
    /// Recalled by the regulator.
    Recalled = 10,
}

impl EventKind {
    /// The Chinese label shown to users.
    pub fn label(self) -> &'static str {
        match self {
            EventKind::Commissioned => "首站赋码",
            EventKind::Shipped => "出库",
            EventKind::Received => "入库",
            EventKind::Split => "分装",
            EventKind::SplitFrom => "分装自",
            EventKind::Sold => "销售",
            EventKind::Disposed => "销毁",
            EventKind::CertificateAttached => "补录证明",
            EventKind::Held => "暂停流通",
            EventKind::Released => "解除暂停",
            EventKind::Recalled => "召回",
        }
    }
}

/// One event in a lot's history.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct TraceEvent {
    /// What happened.
    pub kind: EventKind,
    /// The enterprise (or regulator organisation) that acted.
    pub actor: Uscc,
    /// The other side: the receiver of a shipment, the sender of a receipt.
    pub counterparty: Option<Uscc>,
    /// The packages concerned (empty for lot-wide events).
    pub serials: Serials,
    /// The child lot of a split, the parent of a split-from.
    pub related_lot: Option<LotNumber>,
    /// Shipment id, certificate digest or temperature log digest, as fits the kind.
    pub reference: Option<Hash>,
    /// A reason or note.
    pub note: String,
    /// Block time (ms).
    pub at_ms: u64,
    /// Height.
    pub height: u64,
    /// The transaction.
    pub tx: Hash,
}

/// Cold-chain settings of the chain.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct TraceConfig {
    /// Certificates an imported lot must carry before it moves on from the first station or is
    /// sold (the "four forbiddens": these three plus the trace code itself).
    pub required_certificates: Vec<CertificateKind>,
}

impl Default for TraceConfig {
    fn default() -> Self {
        TraceConfig {
            required_certificates: vec![
                CertificateKind::InspectionQuarantine,
                CertificateKind::NucleicAcidTest,
                CertificateKind::Disinfection,
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_are_their_json_names() {
        use EnterpriseKind::*;
        for kind in [
            Importer,
            ColdStore,
            Processor,
            Wholesaler,
            Supermarket,
            Restaurant,
            Ecommerce,
            Other,
        ] {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.name()));
        }
    }

    #[test]
    fn codes_round_trip_and_check_characters_catch_typos() {
        let lot = TraceCode {
            lot: TraceCode::lot_number(410100, 1),
            serial: None,
        };
        let package = TraceCode {
            serial: Some(42),
            ..lot
        };
        for code in [lot, package] {
            let text = code.to_string();
            assert_eq!(text.parse::<TraceCode>().unwrap(), code, "{text}");
            let mut typo = text.clone().into_bytes();
            typo[3] = if typo[3] == b'9' { b'8' } else { b'9' };
            let typo = String::from_utf8(typo).unwrap();
            let err = typo.parse::<TraceCode>().unwrap_err().to_string();
            // Named, called mistyped, and no hint at the check character that would pass.
            assert!(
                err.contains(&typo) && err.contains("mistyped or damaged"),
                "{err}"
            );
            assert!(!err.contains("expected"), "{err}");
        }
        assert_eq!(package.region(), 410100);
        assert!(package.to_string().starts_with("4101000000000001-42"));
        for bad in [
            "",
            "123",
            "4101000000000001-0X",
            "4101000000000001-042X",
            "41010000000000a1X",
        ] {
            assert!(bad.parse::<TraceCode>().is_err(), "{bad}");
        }
        assert!(
            package
                .digital_link("6901234567892", "B01")
                .starts_with("/01/06901234567892/10/B01/21/")
        );
    }

    #[test]
    fn serials_merge_take_and_remove() {
        let mut stock = Serials::try_from(vec![(5, 9), (1, 3), (4, 4), (20, 30)]).unwrap();
        assert_eq!(stock.ranges(), &[(1, 9), (20, 30)]);
        assert_eq!(stock.count(), 20);
        let low = stock.lowest(12).unwrap();
        assert_eq!(low.ranges(), &[(1, 9), (20, 22)]);
        assert!(stock.contains_all(&low));
        stock.remove(&low);
        assert_eq!(stock.ranges(), &[(23, 30)]);
        assert!(stock.lowest(9).is_none());
        let middle = Serials::try_from(vec![(25, 26)]).unwrap();
        stock.remove(&middle);
        assert_eq!(stock.ranges(), &[(23, 24), (27, 30)]);
        assert!(!stock.contains(25) && stock.contains(27));
        assert!(stock.intersects(&Serials::try_from(vec![(20, 23)]).unwrap()));
        assert!(!stock.contains_all(&Serials::try_from(vec![(24, 27)]).unwrap()));
        stock.insert(&middle);
        assert_eq!(stock.ranges(), &[(23, 30)]);
        assert!(Serials::try_from(vec![(0, 1)]).is_err());
        assert!(Serials::try_from(vec![(3, 2)]).is_err());
    }

    /// The canonical encoding takes ranges only as they are kept, so what decodes encodes back to
    /// the same bytes; JSON still merges what it is given.
    #[test]
    fn serials_decode_only_from_their_one_encoding() {
        let kept = Serials::try_from(vec![(1, 3), (5, 9), (20, u32::MAX)]).unwrap();
        let bytes = borsh::to_vec(&kept).unwrap();
        assert_eq!(borsh::from_slice::<Serials>(&bytes).unwrap(), kept);
        for ranges in [
            vec![(1, 3), (4, 9)],        // adjacent
            vec![(1, 5), (3, 9)],        // overlapping
            vec![(5, 9), (1, 3)],        // out of order
            vec![(1, u32::MAX), (1, 2)], // nothing can follow the last serial
            vec![(0, 3)],                // serial 0
            vec![(4, 3)],                // empty
        ] {
            let bytes = borsh::to_vec(&ranges).unwrap();
            assert!(borsh::from_slice::<Serials>(&bytes).is_err(), "{ranges:?}");
        }
        let json: Serials = serde_json::from_str("[[4,9],[1,3]]").unwrap();
        assert_eq!(json.ranges(), &[(1, 9)]);
    }
}

//! `xinlian trace ...`: the cold-chain calls and queries over the SDK.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use xinlian_core::Hash;
use xinlian_core::crypto::PublicKey;
use xinlian_core::ids::Uscc;
use xinlian_core::trace::{
    Certificate, CertificateKind, EnterpriseKind, ImportDetails, LotCode, Product, Selection,
    Serials, TraceCall, TraceCode,
};
use xinlian_core::types::Call;
use xinlian_sdk::Client;

use crate::cli::{NodeArg, Signer};
use crate::commands::{print_json, read_key};
use crate::inputs::Day;

const COMMIT_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Subcommand, Debug)]
#[allow(clippy::large_enum_variant)] // parsed once per run
pub(crate) enum TraceCommand {
    /// Register a cold-chain enterprise (as the market regulator's registrar).
    ///
    /// Example: xinlian trace register-enterprise --key registrar.pem --uscc 91410100MA45... --name
    ///   "郑州冷库" --kind cold_store --region 410100 --address "…" --contact "…" --admin sm2:04…
    RegisterEnterprise {
        #[command(flatten)]
        signer: Signer,
        /// Its USCC.
        #[arg(long)]
        uscc: Uscc,
        /// Its name.
        #[arg(long)]
        name: String,
        /// importer, cold_store, processor, wholesaler, supermarket, restaurant, ecommerce, other.
        #[arg(long, value_parser = parse_kind)]
        kind: EnterpriseKind,
        /// Administrative region (6 digits).
        #[arg(long)]
        region: u32,
        /// Address.
        #[arg(long)]
        address: String,
        /// Contact person and phone.
        #[arg(long)]
        contact: String,
        /// First admin keys (repeat).
        #[arg(long = "admin", required = true)]
        admins: Vec<PublicKey>,
    },
    /// Code a lot at the first station; prints the lot code.
    ///
    /// Example: xinlian trace commission --key importer.pem --product 冷冻带骨牛肉 --category 肉类
    ///   --spec 20kg/箱 --origin BR --production-date 20261001 --shelf-life-days 365 --batch B01
    ///   --packages 1000 --unit 箱 --customs-declaration 5301… --entry-port 天津港
    ///   --cert inspection_quarantine:IQ-1:海关:<64 hex>
    Commission(CommissionArgs),
    /// Ship packages to a registered enterprise; prints the shipment id.
    ///
    /// Example: xinlian trace ship --key importer.pem --lot <lot code> --to <USCC> --quantity 40
    Ship {
        #[command(flatten)]
        signer: Signer,
        #[command(flatten)]
        pick: Pick,
        /// The receiver.
        #[arg(long)]
        to: Uscc,
        /// Digest of the leg's temperature log (64 hex).
        #[arg(long, value_parser = parse_hash)]
        temperature_log: Option<Hash>,
    },
    /// Confirm a shipment's arrival.
    ///
    /// Example: xinlian trace receive --key coldstore.pem <shipment id>
    Receive {
        #[command(flatten)]
        signer: Signer,
        /// The shipment id.
        #[arg(value_parser = parse_hash)]
        shipment: Hash,
    },
    /// Repack packages into a child lot with its own codes; prints the child's lot code.
    ///
    /// Example: xinlian trace split --key store.pem --lot <code> --quantity 2 --packages 80
    ///   --spec 500g/袋 --unit 袋
    Split {
        #[command(flatten)]
        signer: Signer,
        #[command(flatten)]
        pick: Pick,
        /// Packages of the child lot.
        #[arg(long)]
        packages: u32,
        /// The child's package specification.
        #[arg(long)]
        spec: String,
        /// The child's package unit.
        #[arg(long)]
        unit: String,
    },
    /// Sell packages to consumers.
    ///
    /// Example: xinlian trace sell --key shop.pem --codes <code>,<code>
    Sell {
        #[command(flatten)]
        signer: Signer,
        #[command(flatten)]
        pick: Pick,
    },
    /// Dispose of packages.
    ///
    /// Example: xinlian trace dispose --key store.pem --lot <code> --quantity 3 --reason 破损
    Dispose {
        #[command(flatten)]
        signer: Signer,
        #[command(flatten)]
        pick: Pick,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Attach a certificate to a lot.
    ///
    /// Example: xinlian trace attach --key importer.pem --lot <code> --cert disinfection:D-1:疾控:<hex>
    Attach {
        #[command(flatten)]
        signer: Signer,
        /// The lot.
        #[arg(long)]
        lot: LotCode,
        /// kind:number:issuer:digest.
        #[arg(long, value_parser = parse_certificate)]
        cert: Certificate,
    },
    /// Hold a lot (regulator).
    ///
    /// Example: xinlian trace hold --key regulator.pem --lot <code> --reason 待复检
    Hold(OrderArgs),
    /// Release a held lot (regulator).
    ///
    /// Example: xinlian trace release --key regulator.pem --lot <code> --reason 复检合格
    Release(OrderArgs),
    /// Recall a lot (regulator); final.
    ///
    /// Example: xinlian trace recall --key regulator.pem --lot <code> --reason 核酸检测阳性
    Recall(OrderArgs),
    /// Show a code's lineage, hops, certificates and status as JSON. With --proof it comes with
    /// its proof bundle (save it for `xinlian verify`); with --genesis the bundle is checked here
    /// against the genesis's voters and the trace derived again from it, or the command exits 3
    /// with the reason.
    ///
    /// Example: xinlian trace show <code> --genesis genesis.toml
    Show {
        #[command(flatten)]
        node: NodeArg,
        /// A lot or package code.
        code: TraceCode,
        /// Ask for the proof bundle too.
        #[arg(long)]
        proof: bool,
        /// The chain's genesis (TOML), to verify the answer against its voters.
        #[arg(long)]
        genesis: Option<std::path::PathBuf>,
    },
    /// The recall list of a code's lot and its descendants as JSON (a signed query by a
    /// regulator's member key: the list names enterprises and their stock).
    ///
    /// Example: xinlian trace holders --key regulator.pem <code> --region 410100
    Holders {
        #[command(flatten)]
        signer: Signer,
        /// A lot or package code.
        code: TraceCode,
        /// Only enterprises in this region.
        #[arg(long)]
        region: Option<u32>,
        /// Only enterprises of this kind.
        #[arg(long, value_parser = parse_kind)]
        kind: Option<EnterpriseKind>,
    },
    /// Find first-station lots as JSON.
    ///
    /// Example: xinlian trace lots --origin BR --from 2026-11-01
    Lots {
        #[command(flatten)]
        node: NodeArg,
        /// Exact product name.
        #[arg(long)]
        product: Option<String>,
        /// Origin country.
        #[arg(long)]
        origin: Option<String>,
        /// From date, YYYY-MM-DD (or YYYYMMDD).
        #[arg(long)]
        from: Option<Day>,
        /// To date, YYYY-MM-DD (or YYYYMMDD).
        #[arg(long)]
        to: Option<Day>,
        /// Region of the first station.
        #[arg(long)]
        region: Option<u32>,
    },
    /// What an enterprise holds and what is on its way to it, as JSON (a signed query by a
    /// member key of the enterprise itself or of a regulator).
    ///
    /// Example: xinlian trace stock --key coldstore.pem <USCC>
    Stock {
        #[command(flatten)]
        signer: Signer,
        /// The enterprise.
        uscc: Uscc,
    },
}

/// Which packages: a lot and a quantity, or scanned package codes.
#[derive(Args, Debug)]
pub(crate) struct Pick {
    /// The lot (with --quantity).
    #[arg(long, requires = "quantity")]
    lot: Option<LotCode>,
    /// How many packages (the lowest serials in stock).
    #[arg(long, conflicts_with = "codes")]
    quantity: Option<u32>,
    /// Package codes, comma separated, all of one lot.
    #[arg(long, value_delimiter = ',')]
    codes: Vec<TraceCode>,
}

#[derive(Args, Debug)]
pub(crate) struct OrderArgs {
    #[command(flatten)]
    signer: Signer,
    /// The lot.
    #[arg(long)]
    lot: LotCode,
    /// Why.
    #[arg(long)]
    reason: String,
}

#[derive(Args, Debug)]
pub(crate) struct CommissionArgs {
    #[command(flatten)]
    signer: Signer,
    /// Product name.
    #[arg(long)]
    product: String,
    /// Product category.
    #[arg(long)]
    category: String,
    /// Package specification.
    #[arg(long)]
    spec: String,
    /// GTIN.
    #[arg(long)]
    gtin: Option<String>,
    /// Origin country (ISO 3166-1 alpha-2).
    #[arg(long)]
    origin: String,
    /// Production date, YYYY-MM-DD (or YYYYMMDD).
    #[arg(long)]
    production_date: Day,
    /// Shelf life in days.
    #[arg(long)]
    shelf_life_days: u32,
    /// Batch number.
    #[arg(long)]
    batch: String,
    /// Smallest packages to code.
    #[arg(long)]
    packages: u32,
    /// Package unit (箱, 袋, 件).
    #[arg(long)]
    unit: String,
    /// Customs declaration number (imported goods).
    #[arg(long, requires = "entry_port")]
    customs_declaration: Option<String>,
    /// Port of entry (imported goods).
    #[arg(long, requires = "customs_declaration")]
    entry_port: Option<String>,
    /// Certificates, kind:number:issuer:digest (repeat).
    #[arg(long = "cert", value_parser = parse_certificate)]
    certificates: Vec<Certificate>,
}

fn parse_hash(text: &str) -> Result<Hash, String> {
    Hash::from_hex(text).map_err(|e| e.to_string())
}

fn parse_kind(text: &str) -> Result<EnterpriseKind, String> {
    serde_json::from_value(serde_json::Value::String(text.into())).map_err(|_| {
        format!("unknown kind {text:?}; expected importer, cold_store, processor, wholesaler, supermarket, restaurant, ecommerce or other")
    })
}

fn parse_certificate(text: &str) -> Result<Certificate, String> {
    let parts: Vec<&str> = text.splitn(4, ':').collect();
    let [kind, number, issuer, digest] = parts.as_slice() else {
        return Err("expected kind:number:issuer:digest".into());
    };
    let kind: CertificateKind = serde_json::from_value(serde_json::Value::String((*kind).into()))
        .map_err(|_| {
            format!("unknown certificate kind {kind:?}; expected inspection_quarantine, nucleic_acid_test, disinfection, customs_declaration or other")
        })?;
    Ok(Certificate {
        kind,
        number: number.to_string(),
        issuer: issuer.to_string(),
        digest: Hash::from_hex(digest).map_err(|e| format!("digest: {e}"))?,
    })
}

impl Pick {
    fn resolve(self) -> Result<(LotCode, Selection)> {
        match (self.lot, self.quantity, self.codes.as_slice()) {
            (Some(lot), Some(n), []) => Ok((lot, Selection::Quantity(n))),
            (_, None, [first, ..]) => {
                let lot = first.lot;
                let mut ranges = Vec::with_capacity(self.codes.len());
                for code in &self.codes {
                    let serial = code
                        .serial
                        .with_context(|| format!("{code} is a lot code, not a package code"))?;
                    if code.lot != lot {
                        bail!("--codes must all belong to one lot; {code} does not");
                    }
                    ranges.push((serial, serial));
                }
                let serials = Serials::try_from(ranges).map_err(anyhow::Error::msg)?;
                if let Some(given) = self.lot
                    && given.0 != lot
                {
                    bail!("--lot {given} does not match the codes' lot");
                }
                Ok((LotCode(lot), Selection::Serials(serials)))
            }
            _ => bail!("give --lot with --quantity, or --codes"),
        }
    }
}

async fn send(signer: Signer, call: TraceCall) -> Result<(Client, Hash)> {
    let key = read_key(&signer.key)?;
    let client = signer.node.client()?;
    let hash = client
        .commit(&key, Call::Trace(call), COMMIT_TIMEOUT)
        .await?;
    // Every command that changes the chain prints the transaction it sent, first.
    outln!("{hash}")?;
    Ok((client, hash))
}

pub(crate) async fn run(command: TraceCommand) -> Result<()> {
    match command {
        TraceCommand::RegisterEnterprise {
            signer,
            uscc,
            name,
            kind,
            region,
            address,
            contact,
            admins,
        } => {
            let call = TraceCall::RegisterEnterprise {
                uscc,
                name,
                kind,
                region,
                address,
                contact,
                admins,
            };
            send(signer, call).await?;
        }
        TraceCommand::Commission(args) => {
            let signer = args.signer.clone();
            let (client, hash) = send(signer, commission_call(args)).await?;
            outln!("lot {}", client.lot_of_tx(&hash).await?)?;
        }
        TraceCommand::Ship {
            signer,
            pick,
            to,
            temperature_log,
        } => {
            let (lot, select) = pick.resolve()?;
            let call = TraceCall::Ship {
                lot,
                to,
                select,
                temperature_log,
            };
            send(signer, call).await?;
        }
        TraceCommand::Receive { signer, shipment } => {
            send(signer, TraceCall::Receive { shipment }).await?;
        }
        TraceCommand::Split {
            signer,
            pick,
            packages,
            spec,
            unit,
        } => {
            let (lot, select) = pick.resolve()?;
            let call = TraceCall::Split {
                lot,
                select,
                packages,
                specification: spec,
                unit,
            };
            let (client, hash) = send(signer, call).await?;
            outln!("lot {}", client.lot_of_tx(&hash).await?)?;
        }
        TraceCommand::Sell { signer, pick } => {
            let (lot, select) = pick.resolve()?;
            send(signer, TraceCall::Sell { lot, select }).await?;
        }
        TraceCommand::Dispose {
            signer,
            pick,
            reason,
        } => {
            let (lot, select) = pick.resolve()?;
            send(
                signer,
                TraceCall::Dispose {
                    lot,
                    select,
                    reason,
                },
            )
            .await?;
        }
        TraceCommand::Attach { signer, lot, cert } => {
            let call = TraceCall::AttachCertificate {
                lot,
                certificate: cert,
            };
            send(signer, call).await?;
        }
        TraceCommand::Hold(a) => {
            send(
                a.signer,
                TraceCall::Hold {
                    lot: a.lot,
                    reason: a.reason,
                },
            )
            .await?;
        }
        TraceCommand::Release(a) => {
            send(
                a.signer,
                TraceCall::Release {
                    lot: a.lot,
                    reason: a.reason,
                },
            )
            .await?;
        }
        TraceCommand::Recall(a) => {
            send(
                a.signer,
                TraceCall::Recall {
                    lot: a.lot,
                    reason: a.reason,
                },
            )
            .await?;
        }
        TraceCommand::Show {
            node,
            code,
            proof,
            genesis,
        } => {
            let client = node.client()?;
            match (genesis, proof) {
                (Some(genesis), _) => {
                    let trust = crate::commands::trust_from(&genesis, &client, None).await?;
                    let verified = client
                        .trace_code_proven(&code, &trust)
                        .await
                        .map_err(crate::commands::unverified)?;
                    print_json(&serde_json::json!({
                        "trace": verified.answer,
                        "proven": crate::commands::proven_summary(&verified),
                    }))?;
                }
                (None, true) => print_json(&client.trace_code_with_proof(&code).await?)?,
                (None, false) => print_json(&client.trace_code(&code).await?)?,
            }
        }
        TraceCommand::Holders {
            signer,
            code,
            region,
            kind,
        } => {
            let key = read_key(&signer.key)?;
            let list = signer
                .node
                .client()?
                .trace_holders(&key, &code, region, kind)
                .await?;
            print_json(&list)?;
        }
        TraceCommand::Lots {
            node,
            product,
            origin,
            from,
            to,
            region,
        } => {
            let filters: Vec<(&str, String)> = [
                ("product", product),
                ("origin", origin),
                ("from", from.map(Day::iso)),
                ("to", to.map(Day::iso)),
                ("region", region.map(|r| r.to_string())),
            ]
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect();
            print_json(&node.client()?.trace_lots(&filters).await?)?;
        }
        TraceCommand::Stock { signer, uscc } => {
            let key = read_key(&signer.key)?;
            print_json(&signer.node.client()?.enterprise_stock(&key, &uscc).await?)?;
        }
    }
    Ok(())
}

fn commission_call(args: CommissionArgs) -> TraceCall {
    TraceCall::Commission {
        product: Product {
            name: args.product,
            category: args.category,
            specification: args.spec,
            gtin: args.gtin,
        },
        origin_country: args.origin,
        production_date: args.production_date.yyyymmdd(),
        shelf_life_days: args.shelf_life_days,
        batch: args.batch,
        packages: args.packages,
        unit: args.unit,
        import: match (args.customs_declaration, args.entry_port) {
            (Some(customs_declaration), Some(entry_port)) => Some(ImportDetails {
                customs_declaration,
                entry_port,
            }),
            _ => None,
        },
        certificates: args.certificates,
    }
}

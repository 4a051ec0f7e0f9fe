//! Licences for the demo: the market regulator registers a licence seal and three licence
//! types, and issues licences in several states. The documents are written to
//! `DIR/licences/*.json` so a window can be shown a genuine file and an altered one.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use xinlian_core::crypto::{PrivateKey, SignatureScheme};
use xinlian_core::ids::Uscc;
use xinlian_core::licence::{
    FaceField, HolderIdType, LicenceCall, LicenceDraft, LicenceId, LicenceTypeCode, SealKind,
    StatusAction,
};
use xinlian_core::types::Call;
use xinlian_core::{Hash, HashSuite};
use xinlian_sdk::{Client, SdkError, keys};

const TIMEOUT: Duration = Duration::from_secs(30);
/// The State Administration for Market Regulation, which defines the first two types.
const SAMR: &str = "11100000000013338W";
/// The Ministry of Housing and Urban-Rural Development (defines construction permits).
const MOHURD: &str = "11100000000013127";

/// A demo licence: what it shows, its identifier, and its document's file and digest.
pub struct DemoLicence {
    /// What it is, in Chinese.
    pub what: String,
    /// Its identifier.
    pub id: LicenceId,
    /// Its document's digest.
    pub digest: Hash,
}

async fn commit(client: &Client, key: &PrivateKey, call: LicenceCall) -> Result<()> {
    let what = call.name();
    match client.commit(key, Call::Licence(call), TIMEOUT).await {
        Ok(_) => Ok(()),
        // Loading the demo twice keeps the first seal and types.
        Err(SdkError::Refused { code, .. })
            if code == "seal_exists" || code == "licence_type_exists" =>
        {
            Ok(())
        }
        Err(e) => Err(e).with_context(|| what.to_string()),
    }
}

/// Issues and changes licences as the demo's market regulator.
pub(crate) struct Issuer<'a> {
    client: &'a Client,
    admin: &'a PrivateKey,
    seal: PrivateKey,
    org: Uscc,
    dir: std::path::PathBuf,
    /// Holders that show their licences as signed QR codes, by name.
    holder_keys: std::collections::HashMap<String, PrivateKey>,
}

impl Issuer<'_> {
    /// Writes the document, seals it and issues the licence.
    async fn issue(
        &self,
        type_code: &LicenceTypeCode,
        serial: &str,
        name: &str,
        holder: &str,
        valid_to: Option<u32>,
    ) -> Result<DemoLicence> {
        let id = LicenceId {
            type_code: type_code.clone(),
            issuer: self.org.clone(),
            serial: serial.into(),
            version: 1,
        };
        self.issue_version(id, name, holder, valid_to, "").await
    }

    async fn issue_version(
        &self,
        id: LicenceId,
        name: &str,
        holder: &str,
        valid_to: Option<u32>,
        renewal: &str,
    ) -> Result<DemoLicence> {
        let document = serde_json::json!({
            "证照名称": name,
            "证照标识": id.to_string(),
            "持证主体": holder,
            "经营范围": "预包装食品（含冷藏冷冻食品）销售",
            "有效期至": valid_to.map_or("长期".to_string(), |d| d.to_string()),
        });
        let bytes = serde_json::to_vec_pretty(&document)?;
        let digest = HashSuite::Sm3.digest(&bytes);
        std::fs::create_dir_all(&self.dir)?;
        std::fs::write(
            self.dir
                .join(format!("{}-{:03}.json", id.serial, id.version)),
            &bytes,
        )?;
        let salt = format!("demo-salt-{}", id.serial);
        let draft = LicenceDraft {
            seal_signature: xinlian_sdk::licence::seal(&self.seal, &id, &digest),
            id: id.clone(),
            number: id.serial.clone(),
            name: name.into(),
            issue_date: 20260315,
            valid_from: 20260315,
            valid_to,
            holder_id_type: HolderIdType::Uscc,
            holder_commitment: HashSuite::Sm3.digest(format!("{salt}|{holder}").as_bytes()),
            holder_key: self.holder_keys.get(holder).map(|k| k.public_key()),
            region: 410100,
            matter: format!("{name}核发"),
            document_digest: digest,
            seal_id: "ZZSJJ-ZZZYZ-01".into(),
            face: vec![FaceField {
                name: "经营范围".into(),
                digest: HashSuite::Sm3.digest(format!("{salt}|经营范围").as_bytes()),
            }],
        };
        let call = if renewal.is_empty() {
            LicenceCall::Issue(draft)
        } else {
            LicenceCall::Renew {
                draft,
                reason: renewal.into(),
            }
        };
        commit(self.client, self.admin, call).await?;
        Ok(DemoLicence {
            what: String::new(),
            id,
            digest,
        })
    }

    /// Issues a food business licence valid from 2026-03-15 to `valid_to` (`YYYYMMDD`).
    pub(crate) async fn issue_food_licence(
        &self,
        serial: &str,
        holder: &str,
        valid_to: u32,
    ) -> Result<DemoLicence> {
        let food = type_code(SAMR, 12)?;
        self.issue(&food, serial, "食品经营许可证", holder, Some(valid_to))
            .await
    }

    /// Changes a licence's status.
    pub(crate) async fn change(
        &self,
        id: &LicenceId,
        action: StatusAction,
        reason: &str,
    ) -> Result<()> {
        let call = LicenceCall::ChangeStatus {
            id: id.clone(),
            action,
            reason: reason.into(),
        };
        commit(self.client, self.admin, call).await
    }
}

fn type_code(authority: &str, seq: u16) -> Result<LicenceTypeCode> {
    let authority = if authority.len() == 17 {
        Uscc::with_check_character(authority)?
    } else {
        authority.parse()?
    };
    Ok(LicenceTypeCode { authority, seq })
}

/// Registers the seal and the types as `org`'s `admin`, and returns the issuer that uses them.
pub(crate) async fn issuer<'a>(
    dir: &Path,
    client: &'a Client,
    admin: &'a PrivateKey,
    org: &Uscc,
) -> Result<Issuer<'a>> {
    let seal_file = dir.join("keys").join("seal-org0.pem");
    if !seal_file.exists() {
        keys::write_key_file(&seal_file, &keys::generate(SignatureScheme::Sm2)?, None)?;
    }
    let seal = keys::read_key_file(&seal_file, None)?;
    let register_seal = LicenceCall::RegisterSeal {
        id: "ZZSJJ-ZZZYZ-01".into(),
        name: "郑州市市场监督管理局证照专用章".into(),
        kind: SealKind::Licence,
        public_key: seal.public_key(),
        valid_from_ms: 0,
        valid_to_ms: 4_102_444_800_000, // 2100-01-01
        picture_digest: None,
    };
    commit(client, admin, register_seal).await?;
    let business = type_code(SAMR, 11)?;
    let food = type_code(SAMR, 12)?;
    let construction = type_code(MOHURD, 1)?;
    for (code, name) in [
        (&business, "营业执照"),
        (&food, "食品经营许可证"),
        (&construction, "建筑工程施工许可证"),
    ] {
        let call = LicenceCall::RegisterType {
            code: code.clone(),
            name: name.into(),
            issuers: vec![org.clone()],
            required_fields: vec!["经营范围".into()],
        };
        commit(client, admin, call).await?;
    }
    // Holders that are demo enterprises hold their licences with their admin keys: the
    // supermarket shows its food licence by QR code, the cold store grants use of its business
    // licence.
    let mut holder_keys = std::collections::HashMap::new();
    for (holder, file) in [
        ("丹尼斯生活广场（中原店）", "enterprise3-supermarket.pem"),
        ("郑州国际陆港冷链物流中心", "enterprise1-coldstore.pem"),
    ] {
        let path = dir.join("keys").join(file);
        if path.exists() {
            holder_keys.insert(holder.to_string(), keys::read_key_file(&path, None)?);
        }
    }
    Ok(Issuer {
        client,
        admin,
        seal,
        org: org.clone(),
        dir: dir.join("licences"),
        holder_keys,
    })
}

/// Issues the demo licences in their several states.
pub(crate) async fn load(issuer: &Issuer<'_>) -> Result<Vec<DemoLicence>> {
    let business = type_code(SAMR, 11)?;
    let food = type_code(SAMR, 12)?;
    let construction = type_code(MOHURD, 1)?;
    let mut out = Vec::new();
    let mut valid = issuer
        .issue(
            &food,
            "JY14101050012345",
            "食品经营许可证",
            "丹尼斯生活广场（中原店）",
            Some(20310314),
        )
        .await?;
    valid.what = "食品经营许可证 · 有效".into();
    let mut revoked = issuer
        .issue(
            &food,
            "JY14101030067890",
            "食品经营许可证",
            "老城根烩面馆",
            Some(20310314),
        )
        .await?;
    issuer
        .change(
            &revoked.id,
            StatusAction::Revoke,
            "食品安全抽检不合格，依法吊销",
        )
        .await?;
    revoked.what = "食品经营许可证 · 已吊销".into();
    let mut v1 = issuer
        .issue(
            &business,
            "91410100MA46G2LN2A",
            "营业执照",
            "郑州国际陆港冷链物流中心",
            None,
        )
        .await?;
    let mut v2 = issuer
        .issue_version(
            v1.id.with_version(2),
            "营业执照",
            "郑州国际陆港冷链物流中心",
            None,
            "变更经营范围",
        )
        .await?;
    v1.what = "营业执照 · 旧版本（已被替代）".into();
    v2.what = "营业执照 · 现行版本".into();
    let mut suspended = issuer
        .issue(
            &construction,
            "410100202603150101",
            "建筑工程施工许可证",
            "郑州某建设工程有限公司",
            Some(20271231),
        )
        .await?;
    issuer
        .change(
            &suspended.id,
            StatusAction::Suspend,
            "安全生产检查整改期间暂扣",
        )
        .await?;
    suspended.what = "施工许可证 · 暂扣".into();
    let mut expired = issuer
        .issue(
            &food,
            "JY14101000000001",
            "食品经营许可证",
            "已歇业的小超市",
            Some(20260401),
        )
        .await?;
    expired.what = "食品经营许可证 · 已过有效期".into();
    out.extend([valid, revoked, v2, v1, suspended, expired]);
    Ok(out)
}

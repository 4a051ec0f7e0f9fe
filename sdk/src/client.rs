//! The HTTP client of a node's API.

use std::time::Duration;

use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use xinlian_core::Hash;
use xinlian_core::api::auth::{GrantView, GrantsResponse, ResolveRequest, UsageReport};
use xinlian_core::api::licence::{LicenceRecord, Verdict, VerifyRequest};
use xinlian_core::api::trace::{CodeTrace, CodedLot, LotsResponse, RecallList, StockResponse};
use xinlian_core::api::{
    BlockResponse, ErrorBody, ErrorResponse, GovNodesResponse, ProposalStatus, ProposalView,
    ProposalsResponse, StatusResponse, SubmitTxResponse, TxState, TxStatusResponse,
};
use xinlian_core::crypto::PrivateKey;
use xinlian_core::ids::Uscc;
use xinlian_core::licence::LicenceId;
use xinlian_core::trace::{EnterpriseKind, LotCode, TraceCode};
use xinlian_core::types::ReceiptStatus;
use xinlian_core::types::{Call, SignedTransaction, Transaction};

use crate::events::{ChainEvent, EventStream};
use crate::tls::TlsOptions;
use crate::{Result, SdkError, keys, now_ms};

/// How many blocks ahead a transaction built by [`Client::sign_call`] stays valid.
pub const DEFAULT_VALIDITY_BLOCKS: u64 = 1_000;
/// How often [`Client::wait_for_commit`] asks when the event stream is unavailable.
const WAIT_POLL_INTERVAL: Duration = Duration::from_millis(100);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// An event stream is quiet for at most the node's keep-alive interval (5 s); a longer silence
/// means the connection is gone.
const STREAM_READ_TIMEOUT: Duration = Duration::from_secs(20);

/// A client of one node.
#[derive(Clone, Debug)]
pub struct Client {
    base: String,
    http: reqwest::Client,
    /// For event streams: no overall timeout, only a bound on silence.
    stream_http: reqwest::Client,
}

impl Client {
    /// A client for the node at `base_url` (e.g. `http://127.0.0.1:8545`); an `https://` node's
    /// certificate is checked against the system's trust store.
    pub fn new(base_url: &str) -> Result<Self> {
        Self::with_tls(base_url, &TlsOptions::default())
    }

    /// A client for the node at `base_url` with a trust root and client certificate of its own
    /// (`https://` only).
    pub fn with_tls(base_url: &str, tls: &TlsOptions) -> Result<Self> {
        check_base_url(base_url)?;
        let http = tls
            .apply(
                base_url,
                reqwest::Client::builder().timeout(REQUEST_TIMEOUT),
            )?
            .build()
            .map_err(|e| SdkError::Transport(e.to_string()))?;
        let stream_http = tls
            .apply(
                base_url,
                reqwest::Client::builder()
                    .connect_timeout(REQUEST_TIMEOUT)
                    .read_timeout(STREAM_READ_TIMEOUT),
            )?
            .build()
            .map_err(|e| SdkError::Transport(e.to_string()))?;
        Ok(Client {
            base: base_url.trim_end_matches('/').to_string(),
            http,
            stream_http,
        })
    }

    /// The node's base URL.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The HTTP client requests go through (for the other modules of the SDK).
    pub(crate) fn http_client(&self) -> &reqwest::Client {
        &self.http
    }

    /// The URL of `path` on the node.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub(crate) async fn answer<T: DeserializeOwned>(response: reqwest::Response) -> Result<T> {
        let status = response.status();
        let body = response.bytes().await.map_err(transport)?;
        if status.is_success() {
            return serde_json::from_slice(&body).map_err(|e| SdkError::Decode(format!("{e}")));
        }
        match serde_json::from_slice::<ErrorResponse>(&body) {
            Ok(err) => Err(SdkError::Node {
                status: status.as_u16(),
                code: err.error.code,
                message: err.error.message,
            }),
            Err(_) => Err(SdkError::Node {
                status: status.as_u16(),
                code: status_code_name(status),
                message: String::from_utf8_lossy(&body).into_owned(),
            }),
        }
    }

    pub(crate) async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .map_err(transport)?;
        Self::answer(response).await
    }

    /// `GET /metrics`: the node's metrics in the Prometheus text format.
    pub async fn metrics(&self) -> Result<String> {
        let response = self
            .http
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        let body = response.text().await.map_err(transport)?;
        if !status.is_success() {
            return Err(SdkError::Node {
                status: status.as_u16(),
                code: status_code_name(status),
                message: body,
            });
        }
        Ok(body)
    }

    /// `GET /v1/status`.
    pub async fn status(&self) -> Result<StatusResponse> {
        self.get("/v1/status").await
    }

    /// `GET /v1/blocks/{height}`.
    pub async fn block(&self, height: u64) -> Result<BlockResponse> {
        self.get(&format!("/v1/blocks/{height}")).await
    }

    /// `GET /v1/blocks/{height}/certificate`: the voters' signatures on the block, once a
    /// quorum of them reached the node. Check it with `CommitCertificate::verify` against the
    /// voters' keys (`VoterSet::from_genesis` for a chain whose voters have not changed).
    pub async fn block_certificate(
        &self,
        height: u64,
    ) -> Result<xinlian_core::certificate::CommitCertificate> {
        self.get(&format!("/v1/blocks/{height}/certificate")).await
    }

    /// `GET /v1/gov/voters?height=`: the voters whose votes certify the block at `height`, as
    /// the node recorded them.
    pub async fn voters_at(&self, height: u64) -> Result<xinlian_core::api::VotersResponse> {
        self.get(&format!("/v1/gov/voters?height={height}")).await
    }

    /// `GET /v1/blocks/latest`.
    pub async fn latest_block(&self) -> Result<BlockResponse> {
        self.get("/v1/blocks/latest").await
    }

    /// `GET /v1/txs/{hash}`.
    pub async fn tx(&self, hash: &Hash) -> Result<TxStatusResponse> {
        self.get(&format!("/v1/txs/{hash}")).await
    }

    /// `GET /v1/gov/nodes`: the node registry and Raft's members.
    pub async fn gov_nodes(&self) -> Result<GovNodesResponse> {
        self.get("/v1/gov/nodes").await
    }

    /// `GET /v1/gov/proposals`: newest first, optionally only those in `status`.
    pub async fn proposals(
        &self,
        status: Option<ProposalStatus>,
        limit: usize,
    ) -> Result<ProposalsResponse> {
        let filter = match status {
            Some(ProposalStatus::Open) => "&status=open",
            Some(ProposalStatus::Executed) => "&status=executed",
            Some(ProposalStatus::Expired) => "&status=expired",
            None => "",
        };
        self.get(&format!("/v1/gov/proposals?limit={limit}{filter}"))
            .await
    }

    /// `GET /v1/gov/proposals/{id}`.
    pub async fn proposal(&self, id: &Hash) -> Result<ProposalView> {
        self.get(&format!("/v1/gov/proposals/{id}")).await
    }

    /// `POST /v1/txs`: submits a signed transaction, returns its hash once admitted.
    pub async fn submit(&self, tx: &SignedTransaction) -> Result<Hash> {
        let response = self
            .http
            .post(format!("{}/v1/txs", self.base))
            .json(tx)
            .send()
            .await
            .map_err(transport)?;
        let answer: SubmitTxResponse = Self::answer(response).await?;
        Ok(answer.tx_hash)
    }

    /// Builds and signs a transaction for `call`, asking the node for the chain id and height.
    pub async fn sign_call(&self, key: &PrivateKey, call: Call) -> Result<SignedTransaction> {
        let status = self.status().await?;
        let tx = Transaction {
            chain_id: status.chain_id,
            sender: key.public_key(),
            nonce: keys::random_nonce()?,
            created_at_ms: now_ms(),
            valid_until_height: status.height + DEFAULT_VALIDITY_BLOCKS,
            call,
        };
        Ok(tx.sign(key)?)
    }

    /// Signs `call`, submits it and waits for its commit: the hash of a call that took effect, or
    /// [`SdkError::Refused`] with the receipt's code.
    pub async fn commit(&self, key: &PrivateKey, call: Call, timeout: Duration) -> Result<Hash> {
        let tx = self.sign_call(key, call).await?;
        let hash = self.submit(&tx).await?;
        let status = self.wait_for_commit(&hash, timeout).await?;
        match status.receipt.map(|r| r.status) {
            Some(ReceiptStatus::Success) => Ok(hash),
            Some(ReceiptStatus::Failure { code, message }) => Err(SdkError::Refused {
                tx: hash.to_hex(),
                code,
                message,
            }),
            None => Err(SdkError::Decode(format!(
                "committed {hash} without a receipt"
            ))),
        }
    }

    /// `GET /v1/trace/codes/{code}`: a code's lineage, hops, certificates and status.
    pub async fn trace_code(&self, code: &TraceCode) -> Result<CodeTrace> {
        self.get(&format!("/v1/trace/codes/{code}")).await
    }

    /// `GET /v1/trace/codes/{code}?proof=true` as the node sent it, not checked: to save and
    /// check elsewhere ([`crate::proof::verify_trace_code`], `xinlian verify`).
    pub async fn trace_code_with_proof(&self, code: &TraceCode) -> Result<CodeTrace> {
        self.get(&format!("/v1/trace/codes/{code}?proof=true"))
            .await
    }

    /// `GET /v1/trace/codes/{code}?proof=true`, checked against `trust` (see
    /// [`crate::proof::verify_trace_code`]).
    pub async fn trace_code_proven(
        &self,
        code: &TraceCode,
        trust: &crate::proof::Trust,
    ) -> Result<crate::proof::VerifiedAnswer<CodeTrace>> {
        let trace = self.trace_code_with_proof(code).await?;
        Ok(crate::proof::verify_trace_code(&trace, trust)?)
    }

    /// `GET /v1/trace/codes/{code}/holders`: the recall list of the code's lot and its
    /// descendants, optionally only in `region` or of `kind`, every page of it added up. It
    /// names enterprises and their stock, so it is a signed query: `key` is a member of a
    /// regulator organisation.
    pub async fn trace_holders(
        &self,
        key: &PrivateKey,
        code: &TraceCode,
        region: Option<u32>,
        kind: Option<EnterpriseKind>,
    ) -> Result<RecallList> {
        let mut query = Vec::new();
        if let Some(region) = region {
            query.push(format!("region={region}"));
        }
        if let Some(kind) = kind {
            let kind = serde_json::to_value(kind).map_err(|e| SdkError::Decode(e.to_string()))?;
            query.push(format!("kind={}", kind.as_str().unwrap_or_default()));
        }
        let path = format!("/v1/trace/codes/{code}/holders?{}", query.join("&"));
        let mut list: RecallList = self.signed(key, reqwest::Method::GET, &path, None).await?;
        // A large recall comes a page of lots at a time; the totals add up over the pages.
        while let Some(next) = list.next.take() {
            let page: RecallList = self.signed(key, reqwest::Method::GET, &next, None).await?;
            list.lots.extend(page.lots);
            list.holders.extend(page.holders);
            list.codes += page.codes;
            list.stock_total += page.stock_total;
            list.in_transit_total += page.in_transit_total;
            list.lots_total = page.lots_total;
            list.truncated |= page.truncated;
            list.next = page.next;
        }
        Ok(list)
    }

    /// `GET /v1/trace/lots` with the query string built from `filters` (`product`, `origin`,
    /// `from`, `to`, `region`, `limit`).
    pub async fn trace_lots(&self, filters: &[(&str, String)]) -> Result<LotsResponse> {
        let response = self
            .http
            .get(format!("{}/v1/trace/lots", self.base))
            .query(filters)
            .send()
            .await
            .map_err(transport)?;
        Self::answer(response).await
    }

    /// `GET /v1/trace/lots/by-tx/{hash}`: the lot a commissioning or split coded.
    pub async fn lot_of_tx(&self, tx: &Hash) -> Result<LotCode> {
        let coded: CodedLot = self.get(&format!("/v1/trace/lots/by-tx/{tx}")).await?;
        Ok(coded.lot)
    }

    /// `GET /v1/trace/enterprises/{uscc}/stock`, every page of it, a signed query: `key` is a
    /// member of the enterprise itself or of a regulator organisation.
    pub async fn enterprise_stock(&self, key: &PrivateKey, uscc: &Uscc) -> Result<StockResponse> {
        let path = format!("/v1/trace/enterprises/{uscc}/stock");
        let mut stock: StockResponse = self.signed(key, reqwest::Method::GET, &path, None).await?;
        while let Some(next) = stock.next.take() {
            let page: StockResponse = self.signed(key, reqwest::Method::GET, &next, None).await?;
            stock.lines.extend(page.lines);
            stock.incoming.extend(page.incoming);
            stock.next = page.next;
        }
        Ok(stock)
    }

    /// `GET /v1/members/{public_key}`: the organisation and role of a member key.
    pub async fn member(
        &self,
        key: &xinlian_core::crypto::PublicKey,
    ) -> Result<xinlian_core::api::MemberResponse> {
        let response = self
            .http
            .get(format!(
                "{}/v1/members/{}",
                self.base,
                percent_path(&key.to_string())
            ))
            .send()
            .await
            .map_err(transport)?;
        Self::answer(response).await
    }

    /// `GET /v1/members/{public_key}?proof=true`, checked against `trust` (see
    /// [`crate::proof::verify_member`]).
    pub async fn member_proven(
        &self,
        key: &xinlian_core::crypto::PublicKey,
        trust: &crate::proof::Trust,
    ) -> Result<crate::proof::VerifiedAnswer<xinlian_core::api::MemberResponse>> {
        let member: xinlian_core::api::MemberResponse = self
            .get(&format!(
                "/v1/members/{}?proof=true",
                percent_path(&key.to_string())
            ))
            .await?;
        Ok(crate::proof::verify_member(&member, trust)?)
    }

    /// Sends a request signed by `key` (see `xinlian_core::api::auth::signed_request_bytes`),
    /// bound to this node (its `node_id` from `/v1/status`) with a fresh nonce: the queries that
    /// reveal a person's grants and uses need one.
    async fn signed<T: DeserializeOwned>(
        &self,
        key: &PrivateKey,
        method: reqwest::Method,
        path_and_query: &str,
        body: Option<Vec<u8>>,
    ) -> Result<T> {
        use xinlian_core::api::auth as signed;
        let status = self.status().await?;
        let mut nonce = [0u8; 16];
        getrandom::fill(&mut nonce).map_err(|e| SdkError::Random(e.to_string()))?;
        let context = signed::SignedRequestContext {
            chain_id: &status.chain_id,
            audience: &status.node_id,
            time_ms: now_ms(),
            nonce,
        };
        let body = body.unwrap_or_default();
        let message = signed::signed_request_bytes(
            status.suite.hash_suite(),
            &context,
            method.as_str(),
            path_and_query,
            &body,
        );
        let signature = key.sign(&message);
        let mut request = self
            .http
            .request(method, format!("{}{path_and_query}", self.base))
            .header(signed::SIGNED_KEY_HEADER, key.public_key().to_string())
            .header(signed::SIGNED_TIME_HEADER, context.time_ms.to_string())
            .header(signed::SIGNED_AUDIENCE_HEADER, &status.node_id)
            .header(signed::SIGNED_NONCE_HEADER, hex::encode(nonce))
            .header(signed::SIGNED_SIGNATURE_HEADER, hex::encode(signature.0));
        if !body.is_empty() {
            request = request
                .header("content-type", "application/json")
                .body(body);
        }
        Self::answer(request.send().await.map_err(transport)?).await
    }

    /// The grants `grantor` has given, with every use (signed by `key`: the grantor, an auditor
    /// or a regulator).
    pub async fn grants_given(
        &self,
        key: &PrivateKey,
        grantor: &xinlian_core::crypto::PublicKey,
    ) -> Result<GrantsResponse> {
        let path = format!(
            "/v1/auth/grants?grantor={}",
            percent_path(&grantor.to_string())
        );
        self.all_grants(key, path).await
    }

    /// One grant with every use: the node answers a page at a time (`uses_next`), and this
    /// follows the links to the end.
    pub async fn grant(&self, key: &PrivateKey, id: &Hash) -> Result<GrantView> {
        let view: GrantView = self
            .signed(
                key,
                reqwest::Method::GET,
                &format!("/v1/auth/grants/{id}"),
                None,
            )
            .await?;
        self.all_uses(key, view).await
    }

    /// `GET /v1/auth/grants/{id}?proof=true` signed by `key`: the grant and the first page of its
    /// uses (up to 1,000; `uses_next` gives the next, also to be asked with `proof=true`),
    /// checked against `trust` (see [`crate::proof::verify_grant`]).
    pub async fn grant_proven(
        &self,
        key: &PrivateKey,
        id: &Hash,
        trust: &crate::proof::Trust,
    ) -> Result<crate::proof::VerifiedAnswer<GrantView>> {
        let view: GrantView = self
            .signed(
                key,
                reqwest::Method::GET,
                &format!("/v1/auth/grants/{id}?proof=true"),
                None,
            )
            .await?;
        Ok(crate::proof::verify_grant(&view, trust)?)
    }

    /// The grants a department holds (signed by one of its members, an auditor or a regulator),
    /// every page, each grant with every use.
    pub async fn grants_held(&self, key: &PrivateKey, org: &Uscc) -> Result<GrantsResponse> {
        self.all_grants(key, format!("/v1/auth/held?org={org}"))
            .await
    }

    /// Follows a grant listing's `next` links and each grant's `uses_next` links to the end.
    async fn all_grants(&self, key: &PrivateKey, first: String) -> Result<GrantsResponse> {
        let mut grants = Vec::new();
        let mut path = Some(first);
        while let Some(next) = path {
            let page: GrantsResponse = self.signed(key, reqwest::Method::GET, &next, None).await?;
            for view in page.grants {
                grants.push(self.all_uses(key, view).await?);
            }
            path = page.next;
        }
        Ok(GrantsResponse { grants, next: None })
    }

    /// Completes a grant's uses by following its `uses_next` links.
    async fn all_uses(&self, key: &PrivateKey, mut view: GrantView) -> Result<GrantView> {
        while let Some(next) = view.uses_next.take() {
            let page: GrantView = self.signed(key, reqwest::Method::GET, &next, None).await?;
            view.uses.extend(page.uses);
            view.uses_next = page.uses_next;
        }
        Ok(view)
    }

    /// A department's usage report for `from..=to` (`YYYY-MM-DD`).
    pub async fn usage_report(
        &self,
        key: &PrivateKey,
        org: &Uscc,
        from: &str,
        to: &str,
    ) -> Result<UsageReport> {
        let path = format!("/v1/auth/report?org={org}&from={from}&to={to}");
        self.signed(key, reqwest::Method::GET, &path, None).await
    }

    /// The grant behind a use code a holder told the window (signed by the window's member key).
    pub async fn resolve_use_code(&self, key: &PrivateKey, code: &str) -> Result<GrantView> {
        let body = serde_json::to_vec(&ResolveRequest {
            code: code.to_string(),
        })
        .map_err(|e| SdkError::Decode(e.to_string()))?;
        let view = self
            .signed(key, reqwest::Method::POST, "/v1/auth/resolve", Some(body))
            .await?;
        self.all_uses(key, view).await
    }

    /// `GET /v1/licences/{id}`: a licence's public record with its status now.
    pub async fn licence(&self, id: &LicenceId) -> Result<LicenceRecord> {
        self.get(&format!("/v1/licences/{id}")).await
    }

    /// `GET /v1/licences/{id}?proof=true` as the node sent it, not checked: to save and check
    /// elsewhere ([`crate::proof::verify_licence_record`], `xinlian verify`).
    pub async fn licence_with_proof(&self, id: &LicenceId) -> Result<LicenceRecord> {
        self.get(&format!("/v1/licences/{id}?proof=true")).await
    }

    /// `GET /v1/licences/{id}?proof=true`, checked against `trust` (see
    /// [`crate::proof::verify_licence_record`]): the record as of a certified block, whatever
    /// the node that served it.
    pub async fn licence_proven(
        &self,
        id: &LicenceId,
        trust: &crate::proof::Trust,
    ) -> Result<crate::proof::VerifiedAnswer<LicenceRecord>> {
        let record = self.licence_with_proof(id).await?;
        Ok(crate::proof::verify_licence_record(&record, trust)?)
    }

    /// `POST /v1/licences/verify?proof=true` from `window`, checked against `trust` (see
    /// [`crate::proof::verify_verdict`]).
    pub async fn verify_licence_proven(
        &self,
        window: Option<&str>,
        id: &LicenceId,
        document_digest: Option<Hash>,
        trust: &crate::proof::Trust,
    ) -> Result<crate::proof::VerifiedAnswer<Verdict>> {
        let verdict = self
            .post_verify(window, id, document_digest, "?proof=true")
            .await?;
        Ok(crate::proof::verify_verdict(&verdict, trust)?)
    }

    /// `POST /v1/licences/verify`: the verdict on a presented licence and its document digest.
    /// Without the digest the document is not checked: `genuine` and `acceptable` are `false`
    /// and `record_genuine` says whether the record and its seal check out.
    pub async fn verify_licence(
        &self,
        id: &LicenceId,
        document_digest: Option<Hash>,
    ) -> Result<Verdict> {
        self.verify_licence_at(None, id, document_digest).await
    }

    /// [`Client::verify_licence`] naming the window that asks (1 to 64 characters): the node
    /// counts its verifications per window for the console.
    pub async fn verify_licence_at(
        &self,
        window: Option<&str>,
        id: &LicenceId,
        document_digest: Option<Hash>,
    ) -> Result<Verdict> {
        self.post_verify(window, id, document_digest, "").await
    }

    async fn post_verify(
        &self,
        window: Option<&str>,
        id: &LicenceId,
        document_digest: Option<Hash>,
        query: &str,
    ) -> Result<Verdict> {
        let request = VerifyRequest {
            id: id.clone(),
            document_digest,
            window: window.map(str::to_string),
        };
        let response = self
            .http
            .post(format!("{}/v1/licences/verify{query}", self.base))
            .json(&request)
            .send()
            .await
            .map_err(transport)?;
        Self::answer(response).await
    }

    /// `POST /v1/licences/verify-qr`: the verdict on the QR code a holder's phone shows.
    /// `challenge` is what this window displayed for the holder's phone.
    pub async fn verify_licence_qr(&self, qr: &str, challenge: &[u8; 16]) -> Result<Verdict> {
        let request = xinlian_core::api::licence::VerifyQrRequest {
            qr: qr.to_string(),
            challenge: hex::encode(challenge),
            window: None,
        };
        let response = self
            .http
            .post(format!("{}/v1/licences/verify-qr", self.base))
            .json(&request)
            .send()
            .await
            .map_err(transport)?;
        Self::answer(response).await
    }

    /// `GET /v1/events`: committed blocks from `from_height` (or from the next block), and
    /// rejections as they happen.
    pub async fn events(&self, from_height: Option<u64>) -> Result<EventStream> {
        let mut request = self.stream_http.get(format!("{}/v1/events", self.base));
        if let Some(height) = from_height {
            request = request.query(&[("from_height", height)]);
        }
        let response = request.send().await.map_err(transport)?;
        if !response.status().is_success() {
            return Err(Self::answer::<serde_json::Value>(response)
                .await
                .err()
                .unwrap_or_else(|| SdkError::Decode("error status with a success body".into())));
        }
        Ok(EventStream::new(response))
    }

    /// Waits until the transaction is committed (returning its status with the receipt) or
    /// rejected (returning [`SdkError::Node`] with the reason), or `timeout` passes. Listens to
    /// the node's event stream; if the stream cannot be opened or breaks, it asks
    /// `GET /v1/txs/{hash}` every 100 ms instead.
    pub async fn wait_for_commit(
        &self,
        hash: &Hash,
        timeout: Duration,
    ) -> Result<TxStatusResponse> {
        let deadline = tokio::time::Instant::now() + timeout;
        // Open the stream first, then ask once: a commit in between is seen by one or the other.
        let events = tokio::time::timeout_at(deadline, self.events(None))
            .await
            .map_err(|_| SdkError::Timeout(hash.to_hex(), timeout))?;
        if let Some(done) = settled(self.tx(hash).await?)? {
            return Ok(done);
        }
        if let Ok(mut events) = events {
            let watched = tokio::time::timeout_at(deadline, async {
                while let Some(event) = events.next().await {
                    match event {
                        Ok(ChainEvent::Block(block)) => {
                            if block.receipts.iter().any(|r| r.tx_hash == *hash) {
                                return Some(self.tx(hash).await);
                            }
                        }
                        Ok(ChainEvent::Rejected(rejected)) if rejected.tx_hash == *hash => {
                            return Some(Err(rejection(rejected.error)));
                        }
                        // Rejections were missed, perhaps this one: ask.
                        Ok(ChainEvent::Lagged(_)) => match self.tx(hash).await.and_then(settled) {
                            Ok(None) => {}
                            Ok(Some(done)) => return Some(Ok(done)),
                            Err(e) => return Some(Err(e)),
                        },
                        Ok(_) => {}
                        Err(_) => return None,
                    }
                }
                None
            })
            .await;
            match watched {
                Ok(Some(answer)) => return answer,
                Ok(None) => {} // the stream broke: poll for the time left
                Err(_) => return Err(SdkError::Timeout(hash.to_hex(), timeout)),
            }
        }
        self.poll_for_commit(hash, timeout, deadline).await
    }

    async fn poll_for_commit(
        &self,
        hash: &Hash,
        timeout: Duration,
        deadline: tokio::time::Instant,
    ) -> Result<TxStatusResponse> {
        loop {
            if let Some(done) = settled(self.tx(hash).await?)? {
                return Ok(done);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(SdkError::Timeout(hash.to_hex(), timeout));
            }
            tokio::time::sleep(WAIT_POLL_INTERVAL).await;
        }
    }
}

/// A committed status, a rejection as an error, or `None` while pending.
fn settled(status: TxStatusResponse) -> Result<Option<TxStatusResponse>> {
    match status.status {
        TxState::Committed => Ok(Some(status)),
        TxState::Rejected => Err(rejection(status.error.unwrap_or_else(|| ErrorBody {
            code: "rejected".into(),
            message: String::new(),
        }))),
        TxState::Pending => Ok(None),
    }
}

fn rejection(reason: ErrorBody) -> SdkError {
    SdkError::Node {
        status: 200,
        code: reason.code,
        message: reason.message,
    }
}

/// Escapes the characters of a key's text form that a URL path would misread (`;`, `=`, `%`, ...).
fn percent_path(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~' | b':') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

pub(crate) fn transport(e: reqwest::Error) -> SdkError {
    // reqwest's own message names the URL but not why ("error sending request for url (…)");
    // the why (connection refused, timed out, name not resolved) is down its source chain.
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(&e);
    while let Some(inner) = cause {
        let message = inner.to_string();
        if !text.contains(&message) {
            text.push_str(": ");
            text.push_str(&message);
        }
        cause = inner.source();
    }
    if let Some(hint) = crate::tls::handshake_hint(&e) {
        return SdkError::Tls(format!("{text}; {hint}"));
    }
    if text.contains("invalid HTTP version parsed") {
        // What hyper says when an http:// request meets a TLS listener's handshake bytes.
        text.push_str(" (does the node serve HTTPS? its URL then starts with https://)");
    }
    if e.is_timeout() {
        text.push_str(&format!(
            " (no answer within {}s)",
            REQUEST_TIMEOUT.as_secs()
        ));
    }
    SdkError::Transport(text)
}

/// A node URL the client can use: `http://` or `https://` with a host, as users often type
/// `127.0.0.1:8545` and reqwest then fails with a bare "builder error".
fn check_base_url(base_url: &str) -> Result<()> {
    let usable = reqwest::Url::parse(base_url)
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some());
    if usable.is_none() {
        return Err(SdkError::BadUrl(base_url.to_string()));
    }
    Ok(())
}

fn status_code_name(status: StatusCode) -> String {
    status
        .canonical_reason()
        .unwrap_or("http_error")
        .to_lowercase()
        .replace(' ', "_")
}

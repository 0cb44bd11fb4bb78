//! Service-account tokens, as kube-apiserver issues them: JWTs signed ES256 with the
//! cluster's service-account key (`sa.key` in the data directory, made with the CA),
//! bound to a ServiceAccount and optionally a Pod or Secret by uid, with an audience and
//! an expiry. `serviceaccounts/token` (TokenRequest, `kubectl create token`) issues
//! them, the node agent asks for one per projected `serviceAccountToken` volume, and the
//! API server accepts them as bearer tokens while the objects they are bound to exist.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use ring::signature::{self, EcdsaKeyPair, KeyPair as _};
use serde_json::{json, Value};

use super::status::FieldError;
use super::{ApiError, ApiResult, Registry};
use crate::resources::Resource;

/// The issuer and default audience (kube-apiserver's default `--service-account-issuer`).
pub const ISSUER: &str = "https://kubernetes.default.svc.cluster.local";
/// What the kubelet asks for a `kube-api-access` volume; extended to a year, as
/// kube-apiserver's `--service-account-extend-token-expiration` does.
pub const KUBE_API_ACCESS_SECS: i64 = 3607;
const EXTENDED_SECS: i64 = 365 * 24 * 3600;

/// The signing key.
pub struct Signer {
    key: EcdsaKeyPair,
    public: Vec<u8>,
    kid: String,
}

fn b64json(v: &Value) -> String {
    B64URL.encode(v.to_string().as_bytes())
}

impl Signer {
    /// The key from PKCS#8 DER.
    pub fn from_pkcs8(der: &[u8]) -> Result<Signer, String> {
        let rng = ring::rand::SystemRandom::new();
        let key = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, der, &rng)
            .map_err(|e| format!("the service-account key: {e}"))?;
        let public = key.public_key().as_ref().to_vec();
        use sha2::Digest as _;
        let kid = B64URL.encode(sha2::Sha256::digest(&public));
        Ok(Signer { key, public, kid })
    }

    /// A signed token with `claims`.
    pub fn sign(&self, claims: &Value) -> Result<String, String> {
        let head = b64json(&json!({"alg": "ES256", "kid": self.kid}));
        let input = format!("{head}.{}", b64json(claims));
        let rng = ring::rand::SystemRandom::new();
        let sig = self
            .key
            .sign(&rng, input.as_bytes())
            .map_err(|e| format!("sign a token: {e}"))?;
        Ok(format!("{input}.{}", B64URL.encode(sig.as_ref())))
    }

    /// The claims of a token this key signed that is valid at `now` (seconds) for the
    /// API server's audience; None for anything else.
    pub fn verify(&self, token: &str, now: i64) -> Option<Value> {
        let mut parts = token.split('.');
        let (h, c, s) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let head: Value = serde_json::from_slice(&B64URL.decode(h).ok()?).ok()?;
        if head["alg"] != "ES256" {
            return None;
        }
        let sig = B64URL.decode(s).ok()?;
        signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, &self.public)
            .verify(format!("{h}.{c}").as_bytes(), &sig)
            .ok()?;
        let claims: Value = serde_json::from_slice(&B64URL.decode(c).ok()?).ok()?;
        let in_time = claims["exp"].as_i64().is_some_and(|e| now < e)
            && claims["nbf"].as_i64().is_none_or(|n| n <= now + 60);
        let for_us = match &claims["aud"] {
            Value::String(a) => a == ISSUER,
            Value::Array(a) => a.iter().any(|x| x == ISSUER),
            _ => false,
        };
        (in_time && for_us && claims["iss"] == ISSUER).then_some(claims)
    }
}

/// The claims of a token for service account `sa` (its object), asked by `spec`
/// (a TokenRequestSpec, defaulted), bound to `bound` (the object, with its kind) if any.
pub fn claims(sa: &Value, spec: &Value, bound: Option<(&str, &Value)>, now: i64) -> Value {
    let md = &sa["metadata"];
    let ns = md["namespace"].as_str().unwrap_or_default();
    let name = md["name"].as_str().unwrap_or_default();
    let asked = spec["expirationSeconds"].as_i64().unwrap_or(3600);
    let extend = asked == KUBE_API_ACCESS_SECS && bound.is_some_and(|(k, _)| k == "Pod");
    let secs = if extend { EXTENDED_SECS } else { asked };
    let mut k8s = json!({"namespace": ns,
                         "serviceaccount": {"name": name, "uid": md["uid"]}});
    if extend {
        k8s["warnafter"] = json!(now + asked);
    }
    if let Some((kind, obj)) = bound {
        let key = if kind == "Pod" { "pod" } else { "secret" };
        k8s[key] = json!({"name": obj["metadata"]["name"], "uid": obj["metadata"]["uid"]});
        if kind == "Pod" {
            if let Some(node) = obj["spec"]["nodeName"].as_str() {
                k8s["node"] = json!({"name": node});
            }
        }
    }
    json!({
        "aud": spec["audiences"],
        "exp": now + secs,
        "iat": now,
        "nbf": now,
        "iss": ISSUER,
        "jti": super::meta::new_uid(),
        "kubernetes.io": k8s,
        "sub": format!("system:serviceaccount:{ns}:{name}"),
    })
}

/// TokenRequest, for errors about it.
const TOKEN_REQUEST: Resource = Resource {
    group: "authentication.k8s.io",
    version: "v1",
    kind: "TokenRequest",
    plural: "tokenrequests",
    singular: "tokenrequest",
    namespaced: true,
    short_names: &[],
    categories: &[],
    subresources: &[],
    generation: false,
};

/// Who a service-account token says its bearer is.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceAccountUser {
    pub namespace: String,
    pub name: String,
    pub uid: String,
}

impl ServiceAccountUser {
    pub fn username(&self) -> String {
        format!("system:serviceaccount:{}:{}", self.namespace, self.name)
    }
}

fn find(group: &str, plural: &str) -> ApiResult<&'static Resource> {
    crate::resources::find(group, "v1", plural)
        .ok_or_else(|| ApiError::internal(format!("no resource {plural}")))
}

impl Registry {
    /// Use `signer` for service-account tokens.
    pub fn set_signer(&self, signer: Signer) {
        let _ = self.signer.set(signer);
    }

    /// `POST serviceaccounts/NAME/token`: a TokenRequest answered with a signed token.
    pub fn token_request(&self, ns: &str, name: &str, req: &Value) -> ApiResult<Value> {
        let signer = self
            .signer
            .get()
            .ok_or_else(|| ApiError::internal("this server issues no service-account tokens"))?;
        let sa = self.get(find("", "serviceaccounts")?, Some(ns), name)?;
        let mut spec = req["spec"].clone();
        if !spec.is_object() {
            spec = json!({});
        }
        if spec["audiences"].as_array().is_none_or(Vec::is_empty) {
            spec["audiences"] = json!([ISSUER]);
        }
        let secs = spec["expirationSeconds"].as_i64().unwrap_or(3600);
        spec["expirationSeconds"] = json!(secs);
        let mut errs = Vec::new();
        if secs < 600 {
            errs.push(FieldError::invalid(
                "spec.expirationSeconds",
                &json!(secs),
                "may not specify a duration less than 10 minutes",
            ));
        } else if secs > 1 << 32 {
            errs.push(FieldError::invalid(
                "spec.expirationSeconds",
                &json!(secs),
                "may not specify a duration larger than 2^32 seconds",
            ));
        }
        let bref = &spec["boundObjectRef"];
        let kind = bref["kind"].as_str().unwrap_or_default();
        if bref.is_object() && !matches!(kind, "Pod" | "Secret") {
            errs.push(FieldError::unsupported(
                "spec.boundObjectRef.kind",
                &json!(kind),
                &["Pod", "Secret"],
            ));
        }
        if !errs.is_empty() {
            return Err(ApiError::invalid(&TOKEN_REQUEST, name, &errs));
        }
        let bound = if bref.is_object() {
            let r = find("", if kind == "Pod" { "pods" } else { "secrets" })?;
            let bname = bref["name"].as_str().unwrap_or_default();
            let obj = self.get(r, Some(ns), bname)?;
            if let Some(uid) = bref["uid"].as_str().filter(|u| !u.is_empty()) {
                if obj["metadata"]["uid"] != uid {
                    return Err(ApiError::new(409, "Conflict", format!(
                        "the UID in the bound object reference ({uid}) does not match the UID in record. The object might have been deleted and then recreated"
                    )));
                }
            }
            if kind == "Pod" && obj["spec"]["serviceAccountName"] != name {
                return Err(ApiError::bad_request(format!(
                    "cannot bind token for serviceaccount \"{name}\" to pod running with different serviceaccount name."
                )));
            }
            Some((kind, obj))
        } else {
            None
        };
        let now = clock::now_nanos() / 1_000_000_000;
        let c = claims(&sa, &spec, bound.as_ref().map(|(k, o)| (*k, o)), now);
        let token = signer.sign(&c).map_err(ApiError::internal)?;
        let exp = c["exp"].as_i64().unwrap_or(now);
        Ok(json!({
            "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
            "metadata": {"name": name, "namespace": ns,
                         "creationTimestamp": clock::now_rfc3339_secs()},
            "spec": spec,
            "status": {"token": token,
                       "expirationTimestamp": clock::rfc3339_secs(exp * 1_000_000_000)},
        }))
    }

    /// The service account a bearer token stands for: a token this server's key signed,
    /// unexpired, for the API, whose service account (and bound pod or secret) still
    /// exist with the uids it names.
    pub fn authenticate(&self, token: &str) -> Option<ServiceAccountUser> {
        let signer = self.signer.get()?;
        let c = signer.verify(token, clock::now_nanos() / 1_000_000_000)?;
        let k = &c["kubernetes.io"];
        let ns = k["namespace"].as_str()?;
        let still = |plural: &str, who: &Value| -> Option<()> {
            let r = find("", plural).ok()?;
            let obj = self.get(r, Some(ns), who["name"].as_str()?).ok()?;
            (obj["metadata"]["uid"] == who["uid"]).then_some(())
        };
        still("serviceaccounts", &k["serviceaccount"])?;
        if k["pod"].is_object() {
            still("pods", &k["pod"])?;
        }
        if k["secret"].is_object() {
            still("secrets", &k["secret"])?;
        }
        Some(ServiceAccountUser {
            namespace: ns.to_string(),
            name: k["serviceaccount"]["name"].as_str()?.to_string(),
            uid: k["serviceaccount"]["uid"].as_str()?.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> Signer {
        let key = rcgen::KeyPair::generate().expect("key");
        Signer::from_pkcs8(&key.serialize_der()).expect("signer")
    }

    #[test]
    fn tokens_verify_until_they_expire_and_only_for_the_api_and_this_key() {
        let s = signer();
        let sa = json!({"metadata": {"name": "default", "namespace": "ns", "uid": "u1"}});
        let spec = json!({"audiences": [ISSUER], "expirationSeconds": 600});
        let t = s.sign(&claims(&sa, &spec, None, 1000)).expect("sign");
        let c = s.verify(&t, 1001).expect("valid");
        assert_eq!(c["sub"], "system:serviceaccount:ns:default");
        assert!(s.verify(&t, 1600).is_none(), "expired");
        assert!(signer().verify(&t, 1001).is_none(), "another key");
        let other = json!({"audiences": ["vault"], "expirationSeconds": 600});
        let t2 = s.sign(&claims(&sa, &other, None, 1000)).expect("sign");
        assert!(s.verify(&t2, 1001).is_none(), "another audience");
        // A changed payload breaks the signature.
        let mut parts: Vec<&str> = t.split('.').collect();
        let forged = b64json(&json!({"sub": "system:serviceaccount:kube-system:admin"}));
        parts[1] = &forged;
        assert!(s.verify(&parts.join("."), 1001).is_none(), "forged");
    }

    #[test]
    fn kube_api_access_tokens_of_pods_are_extended_with_a_warning_time() {
        let sa = json!({"metadata": {"name": "default", "namespace": "ns", "uid": "u1"}});
        let pod = json!({"metadata": {"name": "p", "uid": "u2"}, "spec": {"nodeName": "n"}});
        let spec = json!({"audiences": [ISSUER], "expirationSeconds": KUBE_API_ACCESS_SECS});
        let c = claims(&sa, &spec, Some(("Pod", &pod)), 0);
        assert_eq!(c["exp"], EXTENDED_SECS);
        assert_eq!(c["kubernetes.io"]["warnafter"], KUBE_API_ACCESS_SECS);
        assert_eq!(c["kubernetes.io"]["pod"]["uid"], "u2");
        assert_eq!(c["kubernetes.io"]["node"]["name"], "n");
    }
}

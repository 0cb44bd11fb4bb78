//! A compose file checked against the compose specification's JSON schema, as compose-go
//! v2.9.1 (docker compose v2.40.3's loader) checks it with the schema it embeds
//! (`schema/compose-spec.json`, draft 07) and the validator it uses
//! (santhosh-tekuri/jsonschema v6), with its error messages.
//!
//! The schema's facts are written here as Rust: `Sch` holds the keywords that schema uses
//! (`type`, `enum`, `pattern`, `minimum`, `maximum`, `required`, `properties`,
//! `patternProperties`, `additionalProperties: false`, `items`, `uniqueItems`, `oneOf`);
//! `$ref`s are written inline (the validator only nests their errors, which changes nothing
//! in the error picked). The schema has no `format`, `anyOf`, `allOf` or `const`.
//!
//! Errors as compose-go reports them: the validator's error tree is walked for its most
//! specific leaf (the deepest instance location, an `additionalProperties` error counting one
//! deeper; the first one met among equals), and written `PATH MESSAGE`, PATH being the key
//! path joined with dots. Where the validator walks a Go map (the properties of one object)
//! the order is random in compose-go; here it is the file's order.
//!
//! `!reset` nodes are left out, as compose-go's reset processor drops them before the check.
//!
//! Where compose-go checks: per file, on the tree of this file merged into the earlier
//! files', after interpolation (with its casts), `extends`, `include` (whose key is gone by
//! then) and `EnforceUnicity` (so duplicates in the lists it indexes are never reported);
//! `validating FILE: ` names the file just merged. Before interpolation, `${VAR}` fails the
//! enums and patterns (`cgroup`, `pull_policy`, `condition`, volume `type`, ...) that the
//! interpolated value passes.

use crate::yaml::{Node, Tag, Value};

/// A schema error: what compose-go prints after `validating FILE: `.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path} {message}")]
pub struct Error {
    /// The key path of the offending value, joined with dots (`services.web.ports.0`);
    /// empty for the file's top level.
    pub path: String,
    /// The line of the node at `path` (1-based; 0 for nodes the loader made): for
    /// additional properties and missing ones, the object's.
    pub line: usize,
    /// What is wrong (`must be a array`, `additional properties 'imag' not allowed`, ...).
    pub message: String,
}

/// Check one compose file's tree against the compose specification's schema.
pub fn validate(file: &Node) -> Result<(), Error> {
    let mut path = Vec::new();
    let mut leaves = Vec::new();
    check(&ROOT, file, &mut path, &mut leaves);
    // The first of the most specific leaves.
    let mut best: Option<(usize, Leaf)> = None;
    for leaf in leaves {
        let spec = leaf.specificity();
        if best.as_ref().is_none_or(|(s, _)| spec > *s) {
            best = Some((spec, leaf));
        }
    }
    match best {
        None => Ok(()),
        Some((_, leaf)) => Err(Error {
            path: leaf.path.join("."),
            line: leaf.line,
            message: leaf.kind.message(),
        }),
    }
}

// ---- the validator ----------------------------------------------------------------------

/// One leaf of the validator's error tree.
#[derive(Debug, Clone)]
struct Leaf {
    path: Vec<String>,
    line: usize,
    kind: Kind,
}

impl Leaf {
    fn specificity(&self) -> usize {
        match self.kind {
            Kind::Timestamp => usize::MAX,
            Kind::Additional(_) => self.path.len() + 1,
            _ => self.path.len(),
        }
    }
}

#[derive(Debug, Clone)]
enum Kind {
    Type(u8),
    Enum(&'static [&'static str]),
    Pattern(String, &'static str),
    Minimum(i64),
    Maximum(i64),
    Required(Vec<&'static str>),
    Additional(Vec<String>),
    Unique(usize, usize),
    /// A YAML timestamp where the schema expects a type: the validator stops there.
    Timestamp,
}

impl Kind {
    fn message(&self) -> String {
        match self {
            Kind::Type(t) => format!("must be a {}", type_names(*t)),
            Kind::Enum(want) if want.len() == 1 => format!("value must be {}", quote(want[0])),
            Kind::Enum(want) => format!(
                "value must be one of {}",
                want.iter().map(|w| quote(w)).collect::<Vec<_>>().join(", ")
            ),
            Kind::Pattern(got, want) => {
                format!("{} does not match pattern {}", quote(got), quote(want))
            }
            Kind::Minimum(m) => format!("must be greater than or equal to {m}"),
            Kind::Maximum(m) => format!("must be less than or equal to {m}"),
            Kind::Required(m) if m.len() == 1 => format!("missing property {}", quote(m[0])),
            Kind::Required(m) => format!(
                "missing properties {}",
                m.iter().map(|p| quote(p)).collect::<Vec<_>>().join(", ")
            ),
            Kind::Additional(p) => format!(
                "additional properties {} not allowed",
                p.iter().map(|p| quote(p)).collect::<Vec<_>>().join(", ")
            ),
            Kind::Unique(i, j) => format!("items at {i} and {j} are equal"),
            Kind::Timestamp => "invalid jsonType time.Time".into(),
        }
    }
}

/// compose-go's `humanReadableType`: one type as is (`object` as `mapping`); several
/// sorted, `a, b or c`.
fn type_names(t: u8) -> String {
    let mut names: Vec<&str> = [
        (NULL, "null"),
        (BOOL, "boolean"),
        (NUM, "number"),
        (INT, "integer"),
        (STR, "string"),
        (ARR, "array"),
        (OBJ, "mapping"),
    ]
    .iter()
    .filter(|(b, _)| t & b != 0)
    .map(|(_, n)| *n)
    .collect();
    names.sort_unstable();
    match names.split_last() {
        None => String::new(),
        Some((last, [])) => (*last).to_string(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// The validator's `quote`: Go's `%q`, then `\"` as `"` and `'` as `\'`, in single quotes.
fn quote(s: &str) -> String {
    let mut out = String::from("'");
    for c in s.chars() {
        match c {
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            c if (c as u32) < 0x20 || c == '\x7f' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_control() => {
                if (c as u32) < 0x10000 {
                    out.push_str(&format!("\\u{:04x}", c as u32))
                } else {
                    out.push_str(&format!("\\U{:08x}", c as u32))
                }
            }
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// Whether a node stays (`!reset` ones are dropped).
fn live(n: &Node) -> bool {
    n.tag != Tag::Reset
}

fn json_type(n: &Node) -> u8 {
    match n.value {
        Value::Null => NULL,
        Value::Bool(_) => BOOL,
        Value::Int(_) | Value::Float(_) => NUM,
        Value::Str(_) => STR,
        Value::Seq(_) => ARR,
        Value::Map(_) => OBJ,
    }
}

fn is_integer(n: &Node) -> bool {
    match n.value {
        Value::Int(_) => true,
        Value::Float(f) => f.is_finite() && f.fract() == 0.0,
        _ => false,
    }
}

fn number(n: &Node) -> Option<f64> {
    match n.value {
        Value::Int(i) => Some(i as f64),
        Value::Float(f) if f.is_finite() => Some(f),
        _ => None,
    }
}

/// The validator's `equals` (numbers by value, mappings by keys).
fn equals(a: &Node, b: &Node) -> bool {
    match (&a.value, &b.value) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
            match (number(a), number(b)) {
                (Some(x), Some(y)) => x == y,
                _ => false,
            }
        }
        (Value::Seq(x), Value::Seq(y)) => {
            let x: Vec<&Node> = x.iter().filter(|n| live(n)).collect();
            let y: Vec<&Node> = y.iter().filter(|n| live(n)).collect();
            x.len() == y.len() && x.iter().zip(&y).all(|(p, q)| equals(p, q))
        }
        (Value::Map(x), Value::Map(y)) => {
            let x: Vec<&(String, Node)> = x.iter().filter(|(_, n)| live(n)).collect();
            let y: Vec<&(String, Node)> = y.iter().filter(|(_, n)| live(n)).collect();
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.iter().any(|(k2, v2)| k == k2 && equals(v, v2)))
        }
        _ => false,
    }
}

/// Validate `n` against `s`, appending the leaves of the error tree in the validator's
/// order. Returns whether `n` is valid.
fn check(s: &Sch, n: &Node, path: &mut Vec<String>, out: &mut Vec<Leaf>) -> bool {
    let before = out.len();
    let leaf = |kind: Kind, path: &[String]| Leaf {
        path: path.to_vec(),
        line: n.line,
        kind,
    };
    // A timestamp is no JSON type at all.
    if n.tag == Tag::Timestamp {
        out.push(leaf(Kind::Timestamp, path));
        return false;
    }
    // type --
    if s.ty != 0 {
        let t = json_type(n);
        if s.ty & t == 0 && !(s.ty & INT != 0 && t == NUM && is_integer(n)) {
            out.push(leaf(Kind::Type(s.ty), path));
            return false;
        }
    }
    // enum --
    if !s.enm.is_empty() {
        let ok = n.as_str().is_some_and(|v| s.enm.contains(&v));
        if !ok {
            out.push(leaf(Kind::Enum(s.enm), path));
            return false;
        }
    }
    match &n.value {
        Value::Map(entries) => {
            if !s.required.is_empty() {
                let missing: Vec<&'static str> = s
                    .required
                    .iter()
                    .copied()
                    .filter(|r| !entries.iter().any(|(k, v)| k == r && live(v)))
                    .collect();
                if !missing.is_empty() {
                    out.push(leaf(Kind::Required(missing), path));
                }
            }
            let mut additional = Vec::new();
            for (k, v) in entries.iter().filter(|(_, v)| live(v)) {
                let mut evaluated = false;
                if let Some((_, ps)) = s.props.iter().find(|(p, _)| p == k) {
                    evaluated = true;
                    path.push(k.clone());
                    check(ps, v, path, out);
                    path.pop();
                }
                if s.ext && k.starts_with("x-") {
                    evaluated = true;
                }
                for (pat, ps) in s.pprops {
                    if pat.matches(k) {
                        evaluated = true;
                        path.push(k.clone());
                        check(ps, v, path, out);
                        path.pop();
                    }
                }
                if !evaluated && s.closed {
                    additional.push(k.clone());
                }
            }
            if !additional.is_empty() {
                out.push(leaf(Kind::Additional(additional), path));
            }
        }
        Value::Seq(items) => {
            let items: Vec<&Node> = items.iter().filter(|n| live(n)).collect();
            if s.unique {
                'dup: for i in 1..items.len() {
                    for j in 0..i {
                        if equals(items[i], items[j]) {
                            out.push(leaf(Kind::Unique(j, i), path));
                            break 'dup;
                        }
                    }
                }
            }
            if let Some(is) = s.items {
                for (i, item) in items.iter().enumerate() {
                    path.push(i.to_string());
                    check(is, item, path, out);
                    path.pop();
                }
            }
        }
        Value::Str(v) => {
            if let Some(p) = s.pattern {
                if !p.matches(v) {
                    out.push(leaf(Kind::Pattern(v.clone(), p.source()), path));
                }
            }
        }
        Value::Int(_) | Value::Float(_) => {
            if let Some(x) = number(n) {
                if let Some(m) = s.min {
                    if x < m as f64 {
                        out.push(leaf(Kind::Minimum(m), path));
                    }
                }
                if let Some(m) = s.max {
                    if x > m as f64 {
                        out.push(leaf(Kind::Maximum(m), path));
                    }
                }
            }
        }
        Value::Null | Value::Bool(_) => {}
    }
    // oneOf --
    if !s.one_of.is_empty() {
        let mut branch_leaves = Vec::new();
        let mut matched = false;
        for b in s.one_of {
            let mut tmp = Vec::new();
            if check(b, n, path, &mut tmp) {
                // The schema's branches exclude one another, so one match is the match.
                matched = true;
                break;
            }
            branch_leaves.extend(tmp);
        }
        if !matched {
            out.extend(branch_leaves);
        }
    }
    out.len() == before
}

// ---- the schema as Rust ----------------------------------------------------------------

const NULL: u8 = 1;
const BOOL: u8 = 2;
const NUM: u8 = 4;
const INT: u8 = 8;
const STR: u8 = 16;
const ARR: u8 = 32;
const OBJ: u8 = 64;

/// The `patternProperties` key patterns the schema uses (besides `^x-`, see [`Sch::ext`]).
#[derive(Debug, Clone, Copy)]
enum KeyPat {
    /// `^[a-zA-Z0-9._-]+$`
    Name,
    /// `^.+$` (Go's `.` matches all but a newline)
    Line,
    /// `.+`
    AnyChar,
    /// `^[a-z]+$`
    Lower,
}

impl KeyPat {
    fn matches(self, k: &str) -> bool {
        match self {
            KeyPat::Name => {
                !k.is_empty()
                    && k.chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
            }
            KeyPat::Line => !k.is_empty() && !k.contains('\n'),
            KeyPat::AnyChar => k.chars().any(|c| c != '\n'),
            KeyPat::Lower => !k.is_empty() && k.chars().all(|c| c.is_ascii_lowercase()),
        }
    }
}

/// The `pattern`s of string values (both unanchored: Go's `MatchString` searches).
#[derive(Debug, Clone, Copy)]
enum ValPat {
    ContainerName,
    PullPolicy,
}

impl ValPat {
    fn source(self) -> &'static str {
        match self {
            ValPat::ContainerName => "[a-zA-Z0-9][a-zA-Z0-9_.-]+",
            ValPat::PullPolicy => {
                "always|never|build|if_not_present|missing|refresh|daily|weekly|every_([0-9]+[wdhms])+"
            }
        }
    }

    fn matches(self, v: &str) -> bool {
        match self {
            ValPat::ContainerName => v.as_bytes().windows(2).any(|w| {
                w[0].is_ascii_alphanumeric()
                    && (w[1].is_ascii_alphanumeric() || matches!(w[1], b'_' | b'.' | b'-'))
            }),
            ValPat::PullPolicy => {
                [
                    "always",
                    "never",
                    "build",
                    "if_not_present",
                    "missing",
                    "refresh",
                    "daily",
                    "weekly",
                ]
                .iter()
                .any(|w| v.contains(w))
                    || v.match_indices("every_").any(|(i, _)| {
                        let rest = &v.as_bytes()[i + "every_".len()..];
                        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
                        digits > 0
                            && rest
                                .get(digits)
                                .is_some_and(|b| matches!(b, b'w' | b'd' | b'h' | b'm' | b's'))
                    })
            }
        }
    }
}

type Props = &'static [(&'static str, &'static Sch)];

/// One (sub)schema.
#[derive(Debug, Clone, Copy)]
struct Sch {
    /// `type` (a set of the bits above; 0: any).
    ty: u8,
    /// `enum` (all the schema's enums are of strings).
    enm: &'static [&'static str],
    pattern: Option<ValPat>,
    min: Option<i64>,
    max: Option<i64>,
    required: &'static [&'static str],
    props: Props,
    pprops: &'static [(KeyPat, &'static Sch)],
    /// `patternProperties: {"^x-": {}}`.
    ext: bool,
    /// `additionalProperties: false`.
    closed: bool,
    items: Option<&'static Sch>,
    unique: bool,
    one_of: &'static [&'static Sch],
}

const fn t(ty: u8) -> Sch {
    Sch {
        ty,
        enm: &[],
        pattern: None,
        min: None,
        max: None,
        required: &[],
        props: &[],
        pprops: &[],
        ext: false,
        closed: false,
        items: None,
        unique: false,
        one_of: &[],
    }
}

const fn one_of(branches: &'static [&'static Sch]) -> Sch {
    Sch {
        one_of: branches,
        ..t(0)
    }
}

/// A closed object with `x-` extensions: the schema's most common shape.
const fn obj(props: Props) -> Sch {
    Sch {
        props,
        ext: true,
        closed: true,
        ..t(OBJ)
    }
}

const fn array(items: &'static Sch) -> Sch {
    Sch {
        items: Some(items),
        ..t(ARR)
    }
}

impl Sch {
    const fn req(self, required: &'static [&'static str]) -> Sch {
        Sch { required, ..self }
    }
    const fn no_ext(self) -> Sch {
        Sch { ext: false, ..self }
    }
    const fn open(self) -> Sch {
        Sch {
            closed: false,
            ..self
        }
    }
    const fn also(self, ty: u8) -> Sch {
        Sch {
            ty: self.ty | ty,
            ..self
        }
    }
    const fn unique(self) -> Sch {
        Sch {
            unique: true,
            ..self
        }
    }
    const fn enm(self, enm: &'static [&'static str]) -> Sch {
        Sch { enm, ..self }
    }
    const fn pprops(self, pprops: &'static [(KeyPat, &'static Sch)]) -> Sch {
        Sch { pprops, ..self }
    }
    const fn min(self, m: i64) -> Sch {
        Sch {
            min: Some(m),
            ..self
        }
    }
    const fn max(self, m: i64) -> Sch {
        Sch {
            max: Some(m),
            ..self
        }
    }
}

// Scalars.
static STRING: Sch = t(STR);
static NUMBER: Sch = t(NUM);
static INTEGER: Sch = t(INT);
static BOOLEAN: Sch = t(BOOL);
static NULLV: Sch = t(NULL);
static OBJECT: Sch = t(OBJ);
static BOOL_STR: Sch = t(BOOL | STR);
static INT_STR: Sch = t(INT | STR);
static NUM_STR: Sch = t(NUM | STR);
static STR_NUM: Sch = t(STR | NUM);
static STR_NULL: Sch = t(STR | NULL);
static STR_NUM_NULL: Sch = t(STR | NUM | NULL);
static STR_NUM_BOOL: Sch = t(STR | NUM | BOOL);
static STR_NUM_BOOL_NULL: Sch = t(STR | NUM | BOOL | NULL);
static STRINGS: Sch = array(&STRING);

// definitions.
static LIST_OF_STRINGS: Sch = array(&STRING).unique();
static STRING_OR_LIST: Sch = one_of(&[&STRING, &LIST_OF_STRINGS]);
static LIST_OR_DICT: Sch = one_of(&[&LIST_OR_DICT_OBJ, &LIST_OF_STRINGS]);
static LIST_OR_DICT_OBJ: Sch = Sch {
    closed: true,
    ..t(OBJ).pprops(&[(KeyPat::AnyChar, &STR_NUM_BOOL_NULL)])
};
static EXTRA_HOSTS: Sch = one_of(&[&EXTRA_HOSTS_OBJ, &LIST_OF_STRINGS]);
static EXTRA_HOSTS_OBJ: Sch = Sch {
    closed: true,
    ..t(OBJ).pprops(&[(KeyPat::AnyChar, &STRING_OR_STRINGS)])
};
static STRING_OR_STRINGS: Sch = one_of(&[&STRING, &STRINGS]);
static COMMAND: Sch = one_of(&[&NULLV, &STRING, &STRINGS]);
static ENV_FILE: Sch = one_of(&[&STRING, &ENV_FILE_LIST]);
static ENV_FILE_LIST: Sch = array(&ENV_FILE_ITEM);
static ENV_FILE_ITEM: Sch = one_of(&[&STRING, &ENV_FILE_OBJ]);
static ENV_FILE_OBJ: Sch = obj(&[
    ("path", &STRING),
    ("format", &STRING),
    ("required", &BOOL_STR),
])
.no_ext()
.req(&["path"]);
static LABEL_FILE: Sch = one_of(&[&STRING, &STRINGS]);
static BLKIO_LIMIT: Sch = obj(&[("path", &STRING), ("rate", &INT_STR)]).no_ext();
static BLKIO_WEIGHT: Sch = obj(&[("path", &STRING), ("weight", &INT_STR)]).no_ext();
static CONFIG_OR_SECRET: Sch = array(&CONFIG_OR_SECRET_ITEM);
static CONFIG_OR_SECRET_ITEM: Sch = one_of(&[&STRING, &CONFIG_OR_SECRET_OBJ]);
static CONFIG_OR_SECRET_OBJ: Sch = obj(&[
    ("source", &STRING),
    ("target", &STRING),
    ("uid", &STRING),
    ("gid", &STRING),
    ("mode", &NUM_STR),
]);
static ULIMITS: Sch = t(OBJ).pprops(&[(KeyPat::Lower, &ULIMIT)]);
static ULIMIT: Sch = one_of(&[&INT_STR, &ULIMIT_OBJ]);
static ULIMIT_OBJ: Sch = obj(&[("hard", &INT_STR), ("soft", &INT_STR)]).req(&["soft", "hard"]);
static SERVICE_HOOK: Sch = obj(&[
    ("command", &COMMAND),
    ("user", &STRING),
    ("privileged", &BOOL_STR),
    ("working_dir", &STRING),
    ("environment", &LIST_OR_DICT),
])
.req(&["command"]);
static DRIVER_OPTS: Sch = t(OBJ).pprops(&[(KeyPat::Line, &STR_NUM)]);
static STRING_DICT: Sch = Sch {
    closed: true,
    ..t(OBJ).pprops(&[(KeyPat::Line, &STRING)])
};

// The top level.
static ROOT: Sch = obj(&[
    ("version", &STRING),
    ("name", &STRING),
    ("include", &INCLUDES),
    ("services", &SERVICES),
    ("models", &MODELS),
    ("networks", &NETWORKS),
    ("volumes", &VOLUMES),
    ("secrets", &SECRETS),
    ("configs", &CONFIGS),
]);
static INCLUDES: Sch = array(&INCLUDE);
static INCLUDE: Sch = one_of(&[&STRING, &INCLUDE_OBJ]);
static INCLUDE_OBJ: Sch = obj(&[
    ("path", &STRING_OR_LIST),
    ("env_file", &STRING_OR_LIST),
    ("project_directory", &STRING),
])
.no_ext();
static SERVICES: Sch = Sch {
    closed: true,
    ..t(OBJ).pprops(&[(KeyPat::Name, &SERVICE)])
};
static MODELS: Sch = t(OBJ).pprops(&[(KeyPat::Name, &MODEL)]);
static NETWORKS: Sch = t(OBJ).pprops(&[(KeyPat::Name, &NETWORK)]);
static VOLUMES: Sch = Sch {
    closed: true,
    ..t(OBJ).pprops(&[(KeyPat::Name, &VOLUME)])
};
static SECRETS: Sch = Sch {
    closed: true,
    ..t(OBJ).pprops(&[(KeyPat::Name, &SECRET)])
};
static CONFIGS: Sch = Sch {
    closed: true,
    ..t(OBJ).pprops(&[(KeyPat::Name, &CONFIG)])
};

// A service.
static SERVICE: Sch = obj(&[
    ("develop", &DEVELOPMENT),
    ("deploy", &DEPLOYMENT),
    ("annotations", &LIST_OR_DICT),
    ("attach", &BOOL_STR),
    ("build", &BUILD),
    ("blkio_config", &BLKIO_CONFIG),
    ("cap_add", &UNIQUE_STRINGS),
    ("cap_drop", &UNIQUE_STRINGS),
    ("cgroup", &CGROUP),
    ("cgroup_parent", &STRING),
    ("command", &COMMAND),
    ("configs", &CONFIG_OR_SECRET),
    ("container_name", &CONTAINER_NAME),
    ("cpu_count", &CPU_COUNT),
    ("cpu_percent", &CPU_PERCENT),
    ("cpu_shares", &NUM_STR),
    ("cpu_quota", &NUM_STR),
    ("cpu_period", &NUM_STR),
    ("cpu_rt_period", &NUM_STR),
    ("cpu_rt_runtime", &NUM_STR),
    ("cpus", &NUM_STR),
    ("cpuset", &STRING),
    ("credential_spec", &CREDENTIAL_SPEC),
    ("depends_on", &DEPENDS_ON),
    ("device_cgroup_rules", &LIST_OF_STRINGS),
    ("devices", &DEVICES),
    ("dns", &STRING_OR_LIST),
    ("dns_opt", &UNIQUE_STRINGS),
    ("dns_search", &STRING_OR_LIST),
    ("domainname", &STRING),
    ("entrypoint", &COMMAND),
    ("env_file", &ENV_FILE),
    ("label_file", &LABEL_FILE),
    ("environment", &LIST_OR_DICT),
    ("expose", &EXPOSE),
    ("extends", &EXTENDS),
    ("provider", &PROVIDER),
    ("external_links", &UNIQUE_STRINGS),
    ("extra_hosts", &EXTRA_HOSTS),
    ("gpus", &GPUS),
    ("group_add", &EXPOSE),
    ("healthcheck", &HEALTHCHECK),
    ("hostname", &STRING),
    ("image", &STRING),
    ("init", &BOOL_STR),
    ("ipc", &STRING),
    ("isolation", &STRING),
    ("labels", &LIST_OR_DICT),
    ("links", &UNIQUE_STRINGS),
    ("logging", &LOGGING),
    ("mac_address", &STRING),
    ("mem_limit", &NUM_STR),
    ("mem_reservation", &INT_STR),
    ("mem_swappiness", &INT_STR),
    ("memswap_limit", &NUM_STR),
    ("network_mode", &STRING),
    ("models", &SERVICE_MODELS),
    ("networks", &SERVICE_NETWORKS),
    ("oom_kill_disable", &BOOL_STR),
    ("oom_score_adj", &OOM_SCORE_ADJ),
    ("pid", &STR_NULL),
    ("pids_limit", &NUM_STR),
    ("platform", &STRING),
    ("ports", &PORTS),
    ("post_start", &HOOKS),
    ("pre_stop", &HOOKS),
    ("privileged", &BOOL_STR),
    ("profiles", &LIST_OF_STRINGS),
    ("pull_policy", &PULL_POLICY),
    ("pull_refresh_after", &STRING),
    ("read_only", &BOOL_STR),
    ("restart", &STRING),
    ("runtime", &STRING),
    ("scale", &INT_STR),
    ("security_opt", &UNIQUE_STRINGS),
    ("shm_size", &NUM_STR),
    ("secrets", &CONFIG_OR_SECRET),
    ("sysctls", &LIST_OR_DICT),
    ("stdin_open", &BOOL_STR),
    ("stop_grace_period", &STRING),
    ("stop_signal", &STRING),
    ("storage_opt", &OBJECT),
    ("tmpfs", &STRING_OR_LIST),
    ("tty", &BOOL_STR),
    ("ulimits", &ULIMITS),
    ("use_api_socket", &BOOLEAN),
    ("user", &STRING),
    ("uts", &STRING),
    ("userns_mode", &STRING),
    ("volumes", &SERVICE_VOLUMES),
    ("volumes_from", &UNIQUE_STRINGS),
    ("working_dir", &STRING),
]);
static UNIQUE_STRINGS: Sch = array(&STRING).unique();
static CGROUP: Sch = t(STR).enm(&["host", "private"]);
static CONTAINER_NAME: Sch = Sch {
    pattern: Some(ValPat::ContainerName),
    ..t(STR)
};
static PULL_POLICY: Sch = Sch {
    pattern: Some(ValPat::PullPolicy),
    ..t(STR)
};
static CPU_COUNT: Sch = one_of(&[&STRING, &CPU_COUNT_INT]);
static CPU_COUNT_INT: Sch = t(INT).min(0);
static CPU_PERCENT: Sch = one_of(&[&STRING, &CPU_PERCENT_INT]);
static CPU_PERCENT_INT: Sch = t(INT).min(0).max(100);
static OOM_SCORE_ADJ: Sch = one_of(&[&STRING, &OOM_SCORE_ADJ_INT]);
static OOM_SCORE_ADJ_INT: Sch = t(INT).min(-1000).max(1000);
static EXPOSE: Sch = array(&STR_NUM).unique();
static BUILD: Sch = one_of(&[&STRING, &BUILD_OBJ]);
static BUILD_OBJ: Sch = obj(&[
    ("context", &STRING),
    ("dockerfile", &STRING),
    ("dockerfile_inline", &STRING),
    ("entitlements", &STRINGS),
    ("args", &LIST_OR_DICT),
    ("ssh", &LIST_OR_DICT),
    ("labels", &LIST_OR_DICT),
    ("cache_from", &STRINGS),
    ("cache_to", &STRINGS),
    ("no_cache", &BOOL_STR),
    ("additional_contexts", &LIST_OR_DICT),
    ("network", &STRING),
    ("provenance", &BOOL_STR),
    ("sbom", &BOOL_STR),
    ("pull", &BOOL_STR),
    ("target", &STRING),
    ("shm_size", &INT_STR),
    ("extra_hosts", &EXTRA_HOSTS),
    ("isolation", &STRING),
    ("privileged", &BOOL_STR),
    ("secrets", &CONFIG_OR_SECRET),
    ("tags", &STRINGS),
    ("ulimits", &ULIMITS),
    ("platforms", &STRINGS),
]);
static BLKIO_CONFIG: Sch = obj(&[
    ("device_read_bps", &BLKIO_LIMITS),
    ("device_read_iops", &BLKIO_LIMITS),
    ("device_write_bps", &BLKIO_LIMITS),
    ("device_write_iops", &BLKIO_LIMITS),
    ("weight", &INT_STR),
    ("weight_device", &BLKIO_WEIGHTS),
])
.no_ext();
static BLKIO_LIMITS: Sch = array(&BLKIO_LIMIT);
static BLKIO_WEIGHTS: Sch = array(&BLKIO_WEIGHT);
static CREDENTIAL_SPEC: Sch = obj(&[
    ("config", &STRING),
    ("file", &STRING),
    ("registry", &STRING),
]);
static DEPENDS_ON: Sch = one_of(&[&LIST_OF_STRINGS, &DEPENDS_ON_OBJ]);
static DEPENDS_ON_OBJ: Sch = Sch {
    closed: true,
    ..t(OBJ).pprops(&[(KeyPat::Name, &DEPENDENCY)])
};
static DEPENDENCY: Sch = obj(&[
    ("restart", &BOOL_STR),
    ("required", &BOOLEAN),
    ("condition", &CONDITION),
])
.req(&["condition"]);
static CONDITION: Sch = t(STR).enm(&[
    "service_started",
    "service_healthy",
    "service_completed_successfully",
]);
static DEVICES: Sch = array(&DEVICE);
static DEVICE: Sch = one_of(&[&STRING, &DEVICE_OBJ]);
static DEVICE_OBJ: Sch = obj(&[
    ("source", &STRING),
    ("target", &STRING),
    ("permissions", &STRING),
])
.req(&["source"]);
static EXTENDS: Sch = one_of(&[&STRING, &EXTENDS_OBJ]);
static EXTENDS_OBJ: Sch = obj(&[("service", &STRING), ("file", &STRING)])
    .no_ext()
    .req(&["service"]);
static PROVIDER: Sch = obj(&[("type", &STRING), ("options", &PROVIDER_OPTIONS)]).req(&["type"]);
static PROVIDER_OPTIONS: Sch = t(OBJ).pprops(&[(KeyPat::Line, &PROVIDER_OPTION)]);
static PROVIDER_OPTION: Sch = one_of(&[&STR_NUM_BOOL, &PROVIDER_OPTION_LIST]);
static PROVIDER_OPTION_LIST: Sch = array(&STR_NUM_BOOL);
static GPUS: Sch = one_of(&[&GPUS_ALL, &GPUS_LIST]);
static GPUS_ALL: Sch = t(STR).enm(&["all"]);
static GPUS_LIST: Sch = array(&GPU);
// `additionalProperties` and `^x-` sit beside `items` in the schema: they do nothing there.
static GPU: Sch = obj(&[
    ("capabilities", &LIST_OF_STRINGS),
    ("count", &INT_STR),
    ("device_ids", &LIST_OF_STRINGS),
    ("driver", &STRING),
    ("options", &LIST_OR_DICT),
])
.no_ext()
.open();
static HEALTHCHECK: Sch = obj(&[
    ("disable", &BOOL_STR),
    ("interval", &STRING),
    ("retries", &NUM_STR),
    ("test", &STRING_OR_STRINGS),
    ("timeout", &STRING),
    ("start_period", &STRING),
    ("start_interval", &STRING),
]);
static LOGGING: Sch = obj(&[("driver", &STRING), ("options", &LOGGING_OPTIONS)]);
static LOGGING_OPTIONS: Sch = t(OBJ).pprops(&[(KeyPat::Line, &STR_NUM_NULL)]);
static SERVICE_MODELS: Sch = one_of(&[&LIST_OF_STRINGS, &SERVICE_MODELS_OBJ]);
static SERVICE_MODELS_OBJ: Sch = t(OBJ).pprops(&[(KeyPat::Name, &SERVICE_MODEL)]);
static SERVICE_MODEL: Sch = one_of(&[&SERVICE_MODEL_OBJ, &NULLV]);
static SERVICE_MODEL_OBJ: Sch = obj(&[("endpoint_var", &STRING), ("model_var", &STRING)]);
static SERVICE_NETWORKS: Sch = one_of(&[&LIST_OF_STRINGS, &SERVICE_NETWORKS_OBJ]);
static SERVICE_NETWORKS_OBJ: Sch = Sch {
    closed: true,
    ..t(OBJ).pprops(&[(KeyPat::Name, &SERVICE_NETWORK)])
};
static SERVICE_NETWORK: Sch = one_of(&[&SERVICE_NETWORK_OBJ, &NULLV]);
static SERVICE_NETWORK_OBJ: Sch = obj(&[
    ("aliases", &LIST_OF_STRINGS),
    ("interface_name", &STRING),
    ("ipv4_address", &STRING),
    ("ipv6_address", &STRING),
    ("link_local_ips", &LIST_OF_STRINGS),
    ("mac_address", &STRING),
    ("driver_opts", &DRIVER_OPTS),
    ("priority", &NUMBER),
    ("gw_priority", &NUMBER),
]);
static PORTS: Sch = array(&PORT).unique();
static PORT: Sch = one_of(&[&NUMBER, &STRING, &PORT_OBJ]);
static PORT_OBJ: Sch = obj(&[
    ("name", &STRING),
    ("mode", &STRING),
    ("host_ip", &STRING),
    ("target", &INT_STR),
    ("published", &INT_STR),
    ("protocol", &STRING),
    ("app_protocol", &STRING),
]);
static HOOKS: Sch = array(&SERVICE_HOOK);
static SERVICE_VOLUMES: Sch = array(&SERVICE_VOLUME).unique();
static SERVICE_VOLUME: Sch = one_of(&[&STRING, &SERVICE_VOLUME_OBJ]);
static SERVICE_VOLUME_OBJ: Sch = obj(&[
    ("type", &VOLUME_TYPE),
    ("source", &STRING),
    ("target", &STRING),
    ("read_only", &BOOL_STR),
    ("consistency", &STRING),
    ("bind", &VOLUME_BIND),
    ("volume", &VOLUME_VOLUME),
    ("tmpfs", &VOLUME_TMPFS),
    ("image", &VOLUME_IMAGE),
])
.req(&["type"]);
static VOLUME_TYPE: Sch = t(STR).enm(&["bind", "volume", "tmpfs", "cluster", "npipe", "image"]);
static VOLUME_BIND: Sch = obj(&[
    ("propagation", &STRING),
    ("create_host_path", &BOOL_STR),
    ("recursive", &BIND_RECURSIVE),
    ("selinux", &BIND_SELINUX),
]);
static BIND_RECURSIVE: Sch = t(STR).enm(&["enabled", "disabled", "writable", "readonly"]);
static BIND_SELINUX: Sch = t(STR).enm(&["z", "Z"]);
static VOLUME_VOLUME: Sch = obj(&[
    ("labels", &LIST_OR_DICT),
    ("nocopy", &BOOL_STR),
    ("subpath", &STRING),
]);
static VOLUME_TMPFS: Sch = obj(&[("size", &TMPFS_SIZE), ("mode", &NUM_STR)]);
static TMPFS_SIZE: Sch = one_of(&[&TMPFS_SIZE_INT, &STRING]);
static TMPFS_SIZE_INT: Sch = t(INT).min(0);
static VOLUME_IMAGE: Sch = obj(&[("subpath", &STRING)]);

// `develop`.
static DEVELOPMENT: Sch = obj(&[("watch", &WATCHES)]).also(NULL);
static WATCHES: Sch = array(&WATCH);
static WATCH: Sch = obj(&[
    ("ignore", &STRING_OR_LIST),
    ("include", &STRING_OR_LIST),
    ("path", &STRING),
    ("action", &WATCH_ACTION),
    ("target", &STRING),
    ("exec", &SERVICE_HOOK),
    ("initial_sync", &BOOLEAN),
])
.req(&["path", "action"]);
static WATCH_ACTION: Sch = t(STR).enm(&["rebuild", "sync", "restart", "sync+restart", "sync+exec"]);

// `deploy`.
static DEPLOYMENT: Sch = obj(&[
    ("mode", &STRING),
    ("endpoint_mode", &STRING),
    ("replicas", &INT_STR),
    ("labels", &LIST_OR_DICT),
    ("rollback_config", &UPDATE_CONFIG),
    ("update_config", &UPDATE_CONFIG),
    ("resources", &RESOURCES),
    ("restart_policy", &RESTART_POLICY),
    ("placement", &PLACEMENT),
])
.also(NULL);
static UPDATE_CONFIG: Sch = obj(&[
    ("parallelism", &INT_STR),
    ("delay", &STRING),
    ("failure_action", &STRING),
    ("monitor", &STRING),
    ("max_failure_ratio", &NUM_STR),
    ("order", &UPDATE_ORDER),
]);
static UPDATE_ORDER: Sch = t(STR).enm(&["start-first", "stop-first"]);
static RESOURCES: Sch = obj(&[("limits", &LIMITS), ("reservations", &RESERVATIONS)]);
static LIMITS: Sch = obj(&[("cpus", &NUM_STR), ("memory", &STRING), ("pids", &INT_STR)]);
static RESERVATIONS: Sch = obj(&[
    ("cpus", &NUM_STR),
    ("memory", &STRING),
    ("generic_resources", &GENERIC_RESOURCES),
    ("devices", &DEPLOY_DEVICES),
]);
static GENERIC_RESOURCES: Sch = array(&GENERIC_RESOURCE);
static GENERIC_RESOURCE: Sch = obj(&[("discrete_resource_spec", &DISCRETE_RESOURCE_SPEC)]);
static DISCRETE_RESOURCE_SPEC: Sch = obj(&[("kind", &STRING), ("value", &NUM_STR)]);
static DEPLOY_DEVICES: Sch = array(&DEPLOY_DEVICE);
static DEPLOY_DEVICE: Sch = obj(&[
    ("capabilities", &LIST_OF_STRINGS),
    ("count", &INT_STR),
    ("device_ids", &LIST_OF_STRINGS),
    ("driver", &STRING),
    ("options", &LIST_OR_DICT),
])
.req(&["capabilities"]);
static RESTART_POLICY: Sch = obj(&[
    ("condition", &STRING),
    ("delay", &STRING),
    ("max_attempts", &INT_STR),
    ("window", &STRING),
]);
static PLACEMENT: Sch = obj(&[
    ("constraints", &STRINGS),
    ("preferences", &PREFERENCES),
    ("max_replicas_per_node", &INT_STR),
]);
static PREFERENCES: Sch = array(&PREFERENCE);
static PREFERENCE: Sch = obj(&[("spread", &STRING)]);

// Networks, volumes, secrets, configs, models.
static NETWORK: Sch = obj(&[
    ("name", &STRING),
    ("driver", &STRING),
    ("driver_opts", &DRIVER_OPTS),
    ("ipam", &IPAM),
    ("external", &EXTERNAL_CLOSED),
    ("internal", &BOOL_STR),
    ("enable_ipv4", &BOOL_STR),
    ("enable_ipv6", &BOOL_STR),
    ("attachable", &BOOL_STR),
    ("labels", &LIST_OR_DICT),
])
.also(NULL);
static IPAM: Sch = obj(&[
    ("driver", &STRING),
    ("config", &IPAM_CONFIGS),
    ("options", &STRING_DICT),
]);
static IPAM_CONFIGS: Sch = array(&IPAM_CONFIG);
static IPAM_CONFIG: Sch = obj(&[
    ("subnet", &STRING),
    ("ip_range", &STRING),
    ("gateway", &STRING),
    ("aux_addresses", &STRING_DICT),
]);
static EXTERNAL_CLOSED: Sch = obj(&[("name", &STRING)]).also(BOOL | STR);
static EXTERNAL_OPEN: Sch = obj(&[("name", &STRING)]).also(BOOL | STR).no_ext().open();
static VOLUME: Sch = obj(&[
    ("name", &STRING),
    ("driver", &STRING),
    ("driver_opts", &DRIVER_OPTS),
    ("external", &EXTERNAL_CLOSED),
    ("labels", &LIST_OR_DICT),
])
.also(NULL);
static SECRET: Sch = obj(&[
    ("name", &STRING),
    ("environment", &STRING),
    ("file", &STRING),
    ("external", &EXTERNAL_OPEN),
    ("labels", &LIST_OR_DICT),
    ("driver", &STRING),
    ("driver_opts", &DRIVER_OPTS),
    ("template_driver", &STRING),
]);
static CONFIG: Sch = obj(&[
    ("name", &STRING),
    ("content", &STRING),
    ("environment", &STRING),
    ("file", &STRING),
    ("external", &EXTERNAL_OPEN),
    ("labels", &LIST_OR_DICT),
    ("template_driver", &STRING),
]);
static MODEL: Sch = obj(&[
    ("name", &STRING),
    ("model", &STRING),
    ("context_size", &INTEGER),
    ("runtime_flags", &STRINGS),
])
.req(&["model"]);

#[cfg(test)]
mod tests {
    use super::*;

    /// `(name, file, what docker compose v2.40.3 prints after "validating compose.yaml: ")`,
    /// each run through `docker compose config` (`None`: the file loads).
    const CASES: &[(&str, &str, Option<&str>)] = &[
        (
            "minimal",
            r#"services:
  web:
    image: x
"#,
            None,
        ),
        (
            "unknown_service_key",
            r#"services:
  web:
    imag: x
"#,
            Some("services.web additional properties 'imag' not allowed"),
        ),
        (
            "unknown_top_level",
            r#"foo: 1
services:
  web:
    image: x
"#,
            Some(" additional properties 'foo' not allowed"),
        ),
        (
            "extensions_everywhere",
            r#"x-foo: 1
services:
  web:
    image: x
    x-bar: 2
    build:
      context: .
      x-b: 1
networks:
  n:
    x-n: 1
"#,
            None,
        ),
        (
            "ports_not_array",
            r#"services:
  web:
    image: x
    ports: 5
"#,
            Some("services.web.ports must be a array"),
        ),
        (
            "timestamp_label",
            r#"services:
  web:
    image: x
    ports: 1
    labels: {built: 2020-01-01, quoted: "2020-01-02"}
"#,
            Some("services.web.labels.built invalid jsonType time.Time"),
        ),
        (
            "timestamp_in_extension",
            r#"x-date: 2020-01-01
services:
  web:
    image: x
    x-when: 2001-12-14t21:59:43.10-05:00
"#,
            None,
        ),
        (
            "null_service",
            r#"services:
  web:
"#,
            Some("services.web must be a mapping"),
        ),
        (
            "bad_service_name",
            r#"services:
  "we b":
    image: x
"#,
            Some("services additional properties 'we b' not allowed"),
        ),
        (
            "port_bool",
            r#"services:
  web:
    image: x
    ports: [true]
"#,
            Some("services.web.ports.0 must be a number"),
        ),
        (
            "port_long_extra",
            r#"services:
  web:
    image: x
    ports: [{target: 1, foo: 2}]
"#,
            Some("services.web.ports.0 additional properties 'foo' not allowed"),
        ),
        (
            "ports_all_forms",
            r#"services:
  web:
    image: x
    ports:
      - 80
      - "8080:80"
      - target: 81
        published: "9000"
        protocol: tcp
"#,
            None,
        ),
        (
            "depends_on_bad_condition",
            r#"services:
  web:
    image: x
    depends_on: {db: {condition: foo}}
  db:
    image: x
"#,
            Some("services.web.depends_on.db.condition value must be one of 'service_started', 'service_healthy', 'service_completed_successfully'"),
        ),
        (
            "depends_on_missing_condition",
            r#"services:
  web:
    image: x
    depends_on: {db: {required: true}}
  db:
    image: x
"#,
            Some("services.web.depends_on.db missing property 'condition'"),
        ),
        (
            "depends_on_list_int",
            r#"services:
  web:
    image: x
    depends_on: [a, 1]
"#,
            Some("services.web.depends_on.1 must be a string"),
        ),
        (
            "oom_score_adj_range",
            r#"services:
  web:
    image: x
    oom_score_adj: 2000
"#,
            Some("services.web.oom_score_adj must be a string"),
        ),
        (
            "cpu_count_negative",
            r#"services:
  web:
    image: x
    cpu_count: -1
"#,
            Some("services.web.cpu_count must be a string"),
        ),
        (
            "tmpfs_size_negative",
            r#"services:
  web:
    image: x
    volumes: [{type: tmpfs, target: /x, tmpfs: {size: -1}}]
"#,
            Some("services.web.volumes.0.tmpfs.size must be greater than or equal to 0"),
        ),
        (
            "ulimit_missing_hard",
            r#"services:
  web:
    image: x
    ulimits: {nofile: {soft: 1}}
"#,
            Some("services.web.ulimits.nofile must be a integer or string"),
        ),
        (
            "ulimits_ok",
            r#"services:
  web:
    image: x
    ulimits:
      nproc: 65535
      nofile: {soft: 1, hard: 2}
"#,
            None,
        ),
        (
            "pull_policy_pattern",
            r#"services:
  web:
    image: x
    pull_policy: foo
"#,
            Some("services.web.pull_policy 'foo' does not match pattern 'always|never|build|if_not_present|missing|refresh|daily|weekly|every_([0-9]+[wdhms])+'"),
        ),
        (
            "pull_policy_every",
            r#"services:
  web:
    image: x
    pull_policy: every_12h
"#,
            None,
        ),
        (
            "container_name_pattern",
            r#"services:
  web:
    image: x
    container_name: '-'
"#,
            Some("services.web.container_name '-' does not match pattern '[a-zA-Z0-9][a-zA-Z0-9_.-]+'"),
        ),
        (
            "version_int",
            r#"version: 3
services:
  web:
    image: x
"#,
            Some("version must be a string"),
        ),
        (
            "network_odd_name",
            r#"networks: {'bad name': {}}
services:
  web:
    image: x
"#,
            None,
        ),
        (
            "volume_odd_name",
            r#"volumes: {'bad name': {}}
services:
  web:
    image: x
"#,
            Some("volumes additional properties 'bad name' not allowed"),
        ),
        (
            "gpus_enum",
            r#"services:
  web:
    image: x
    gpus: foo
"#,
            Some("services.web.gpus value must be 'all'"),
        ),
        (
            "gpus_ok",
            r#"services:
  web:
    image: x
    gpus: all
"#,
            None,
        ),
        (
            "build_extra",
            r#"services:
  web:
    image: x
    build: {context: ., foo: 1}
"#,
            Some("services.web.build additional properties 'foo' not allowed"),
        ),
        (
            "build_bad_type",
            r#"services:
  web:
    image: x
    build: 5
"#,
            Some("services.web.build must be a string"),
        ),
        (
            "null_secret",
            r#"secrets: {s: }
services:
  web:
    image: x
"#,
            Some("secrets.s must be a mapping"),
        ),
        (
            "null_network_and_volume",
            r#"networks: {n: }
volumes: {v: }
services:
  web:
    image: x
"#,
            None,
        ),
        (
            "env_file_extra",
            r#"services:
  web:
    image: x
    env_file: [{path: a, foo: b}]
"#,
            Some("services.web.env_file.0 additional properties 'foo' not allowed"),
        ),
        (
            "healthcheck_test_int",
            r#"services:
  web:
    image: x
    healthcheck: {test: 5}
"#,
            Some("services.web.healthcheck.test must be a string"),
        ),
        (
            "healthcheck_unknown",
            r#"services:
  web:
    image: x
    healthcheck: {test: [CMD, x], intervl: 1s}
"#,
            Some("services.web.healthcheck additional properties 'intervl' not allowed"),
        ),
        (
            "environment_value_list",
            r#"services:
  web:
    image: x
    environment: {A: [1]}
"#,
            Some("services.web.environment.A must be a boolean, null, number or string"),
        ),
        (
            "environment_ok",
            r#"services:
  web:
    image: x
    environment:
      A: 1
      B: true
      C:
      D: x
"#,
            None,
        ),
        (
            "model_missing_model",
            r#"models: {m: {}}
services:
  web:
    image: x
"#,
            Some("models.m missing property 'model'"),
        ),
        (
            "deploy_cpus_list",
            r#"services:
  web:
    image: x
    deploy: {resources: {limits: {cpus: [1]}}}
"#,
            Some("services.web.deploy.resources.limits.cpus must be a number or string"),
        ),
        (
            "watch_missing_action",
            r#"services:
  web:
    image: x
    develop: {watch: [{path: a}]}
"#,
            Some("services.web.develop.watch.0 missing property 'action'"),
        ),
        (
            "watch_missing_both",
            r#"services:
  web:
    image: x
    develop: {watch: [{target: a}]}
"#,
            Some("services.web.develop.watch.0 missing properties 'path', 'action'"),
        ),
        (
            "volume_type_enum",
            r#"services:
  web:
    image: x
    volumes: [{type: foo, target: /x}]
"#,
            Some("services.web.volumes.0.type value must be one of 'bind', 'volume', 'tmpfs', 'cluster', 'npipe', 'image'"),
        ),
        (
            "volume_missing_type",
            r#"services:
  web:
    image: x
    volumes: [{source: a, target: /x}]
"#,
            Some("services.web.volumes.0 must be a string"),
        ),
        (
            "provider_option_object",
            r#"services:
  web:
    image: x
    provider: {type: t, options: {a: {}}}
"#,
            Some("services.web.provider.options.a must be a boolean, number or string"),
        ),
        (
            "provider_missing_type",
            r#"services:
  web:
    provider: {options: {a: 1}}
"#,
            Some("services.web.provider missing property 'type'"),
        ),
        (
            "cgroup_enum",
            r#"services:
  web:
    image: x
    cgroup: foo
"#,
            Some("services.web.cgroup value must be one of 'host', 'private'"),
        ),
        (
            "use_api_socket_string",
            r#"services:
  web:
    image: x
    use_api_socket: "true"
"#,
            Some("services.web.use_api_socket must be a boolean"),
        ),
        (
            "restart_int",
            r#"services:
  web:
    image: x
    restart: 5
"#,
            Some("services.web.restart must be a string"),
        ),
        (
            "expose_ok",
            r#"services:
  web:
    image: x
    expose: [80, "90"]
"#,
            None,
        ),
        (
            "expose_dupe",
            r#"services:
  web:
    image: x
    expose: [80, 80]
"#,
            None,
        ),
        (
            "logging_options",
            r#"services:
  web:
    image: x
    logging: {driver: x, options: {a: [1]}}
"#,
            Some("services.web.logging.options.a must be a null, number or string"),
        ),
        (
            "network_external_extra",
            r#"networks:
  n:
    external: {name: a, foo: b}
services:
  web:
    image: x
"#,
            Some("networks.n.external additional properties 'foo' not allowed"),
        ),
        (
            "secret_external_extra",
            r#"secrets:
  s:
    external: {name: a, foo: b}
services:
  web:
    image: x
"#,
            None,
        ),
        (
            "ipam_options_int",
            r#"networks:
  n:
    ipam: {options: {a: 1}}
services:
  web:
    image: x
"#,
            Some("networks.n.ipam.options.a must be a string"),
        ),
        (
            "service_networks_bad",
            r#"services:
  web:
    image: x
    networks: {n: {aliases: 5}}
"#,
            Some("services.web.networks.n.aliases must be a array"),
        ),
        (
            "service_networks_null",
            r#"services:
  web:
    image: x
    networks: {n: }
networks: {n: }
"#,
            None,
        ),
        (
            "deploy_null",
            r#"services:
  web:
    image: x
    deploy:
    develop:
"#,
            None,
        ),
        (
            "deploy_order_enum",
            r#"services:
  web:
    image: x
    deploy: {update_config: {order: foo}}
"#,
            Some("services.web.deploy.update_config.order value must be one of 'start-first', 'stop-first'"),
        ),
        (
            "bind_selinux_enum",
            r#"services:
  web:
    image: x
    volumes: [{type: bind, source: ., target: /x, bind: {selinux: q}}]
"#,
            Some("services.web.volumes.0.bind.selinux value must be one of 'z', 'Z'"),
        ),
        (
            "cpu_percent_max",
            r#"services:
  web:
    image: x
    cpu_percent: 101
"#,
            Some("services.web.cpu_percent must be a string"),
        ),
        (
            "scale_float",
            r#"services:
  web:
    image: x
    scale: 1.5
"#,
            Some("services.web.scale must be a integer or string"),
        ),
        (
            "scale_float_integral",
            r#"services:
  web:
    image: x
    scale: 2.0
"#,
            None,
        ),
        (
            "blkio_extra",
            r#"services:
  web:
    image: x
    blkio_config: {weight: 10, device_read_bps: [{path: /d, rate: 1, x: 2}]}
"#,
            Some("services.web.blkio_config.device_read_bps.0 additional properties 'x' not allowed"),
        ),
        (
            "post_start_missing_command",
            r#"services:
  web:
    image: x
    post_start: [{user: root}]
"#,
            Some("services.web.post_start.0 missing property 'command'"),
        ),
        (
            "credential_spec_extra",
            r#"services:
  web:
    image: x
    credential_spec: {file: a, foo: b}
"#,
            Some("services.web.credential_spec additional properties 'foo' not allowed"),
        ),
        (
            "name_int",
            r#"name: 5
services:
  web:
    image: x
"#,
            Some("name must be a string"),
        ),
        (
            "command_map",
            r#"services:
  web:
    image: x
    command: {a: b}
"#,
            Some("services.web.command must be a null"),
        ),
        (
            "configs_bad_name",
            r#"configs:
  'a b': {file: x}
services:
  web:
    image: x
"#,
            Some("configs additional properties 'a b' not allowed"),
        ),
        (
            "top_models_ok",
            r#"models:
  m:
    model: ai/x
    context_size: 10
services:
  web:
    image: x
    models: [m]
"#,
            None,
        ),
        (
            "context_size_string",
            r#"models:
  m:
    model: ai/x
    context_size: "10"
services:
  web:
    image: x
"#,
            Some("models.m.context_size must be a integer"),
        ),
        (
            "gpu_list_extra_ok",
            r#"services:
  web:
    image: x
    gpus: [{driver: nvidia, foo: 1}]
"#,
            None,
        ),
        (
            "storage_opt_list",
            r#"services:
  web:
    image: x
    storage_opt: [a]
"#,
            Some("services.web.storage_opt must be a mapping"),
        ),
        (
            "devices_long_missing_source",
            r#"services:
  web:
    image: x
    devices: [{target: /dev/x}]
"#,
            Some("services.web.devices.0 must be a string"),
        ),
        (
            "extra_hosts_map",
            r#"services:
  web:
    image: x
    extra_hosts: {a: 1.2.3.4, b: [1, 2]}
"#,
            Some("services.web.extra_hosts.b.0 must be a string"),
        ),
        (
            "reset_dropped",
            r#"services:
  web:
    image: x
    imag: !reset x
"#,
            None,
        ),
        (
            "security_opt_dupe",
            r#"services:
  web:
    image: x
    security_opt: [a, b, a]
"#,
            Some("services.web.security_opt items at 0 and 2 are equal"),
        ),
        (
            "service_networks_list_dupe",
            r#"services:
  web:
    image: x
    networks: [a, a]
networks: {a: }
"#,
            Some("services.web.networks items at 0 and 1 are equal"),
        ),
        (
            "label_key_escaped",
            r#"services:
  web:
    image: x
    labels: {'a\nb': [1]}
"#,
            Some("services.web.labels.a\\nb must be a boolean, null, number or string"),
        ),
        (
            "pattern_quoting",
            r#"services:
  web:
    image: x
    container_name: "'\"é\t"
"#,
            Some("services.web.container_name '\\'\"é\\t' does not match pattern '[a-zA-Z0-9][a-zA-Z0-9_.-]+'"),
        ),
        (
            "dict_of_lists_nested_error",
            r#"services:
  web:
    image: x
    deploy:
      resources:
        reservations:
          devices:
            - driver: nvidia
"#,
            Some("services.web.deploy.resources.reservations.devices.0 missing property 'capabilities'"),
        ),
        (
            "service_hook_ok",
            r#"services:
  web:
    image: x
    post_start:
      - command: [echo, hi]
        user: root
    pre_stop:
      - command: echo bye
"#,
            None,
        ),
        (
            "watch_ok",
            r#"services:
  web:
    image: x
    develop:
      watch:
        - path: ./src
          action: sync+restart
          target: /app
          initial_sync: true
"#,
            None,
        ),
        (
            "full_service_ok",
            r#"services:
  web:
    image: x
    build:
      context: .
      args: [A=1]
      ssh: {default: x}
      secrets: [s]
      ulimits: {nofile: 5}
      shm_size: 10
    cap_add: [NET_ADMIN]
    command: [a, b]
    entrypoint: x
    dns: 1.1.1.1
    tmpfs: [/tmp]
    healthcheck:
      test: [CMD, "true"]
      interval: 1s
      retries: 3
    logging:
      driver: json-file
      options: {max-size: 1m, n: 3, z: }
    cpus: 0.5
    mem_limit: 1g
    secrets: [{source: s, target: t, mode: 0400}]
    extends: {service: base}
    restart: always
    stop_grace_period: 5s
  base:
    image: y
secrets:
  s:
    file: ./s
"#,
            None,
        ),
    ];

    #[test]
    fn cases_match_docker_compose() {
        let mut failures = Vec::new();
        for (name, src, want) in CASES {
            let mut n = crate::yaml::parse(src).expect("the case parses");
            // compose-go checks the tree after `EnforceUnicity` (duplicates in the lists it
            // indexes, `expose` among them, are gone by then).
            crate::merge::unicity(&mut n);
            let got = validate(&n).err().map(|e| e.to_string());
            if got.as_deref() != *want {
                failures.push(format!("{name}: got {got:?}, want {want:?}"));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn error_carries_path_and_line() {
        let n = crate::yaml::parse("services:\n  web:\n    image: x\n    ports:\n      - true\n")
            .expect("the file parses");
        let e = validate(&n).expect_err("the file is invalid");
        assert_eq!(e.path, "services.web.ports.0");
        assert_eq!(e.line, 5);
        assert_eq!(e.message, "must be a number");
        assert_eq!(e.to_string(), "services.web.ports.0 must be a number");
    }

    #[test]
    fn top_level_error_has_an_empty_path() {
        let n = crate::yaml::parse("services: {}\nfoo: 1\n").expect("the file parses");
        let e = validate(&n).expect_err("the file is invalid");
        assert_eq!(e.path, "");
        assert_eq!(e.to_string(), " additional properties 'foo' not allowed");
    }

    #[test]
    fn additional_properties_listed_in_file_order() {
        // compose-go lists them in Go's map order (random); here, the file's.
        let n = crate::yaml::parse("services:\n  web:\n    imag: x\n    foo: y\n")
            .expect("the file parses");
        let e = validate(&n).expect_err("the file is invalid");
        assert_eq!(
            e.to_string(),
            "services.web additional properties 'imag', 'foo' not allowed"
        );
    }

    #[test]
    fn reset_items_leave_sequences() {
        // The `!reset` item is dropped before the check: the bad item is then item 0.
        let n = crate::yaml::parse(
            "services:\n  web:\n    image: x\n    ports:\n      - !reset 80\n      - true\n",
        )
        .expect("the file parses");
        let e = validate(&n).expect_err("the file is invalid");
        assert_eq!(e.path, "services.web.ports.0");
    }

    #[test]
    fn human_readable_types() {
        assert_eq!(type_names(OBJ), "mapping");
        assert_eq!(type_names(BOOL | STR | OBJ), "boolean, mapping or string");
        assert_eq!(type_names(INT | STR), "integer or string");
    }

    #[test]
    fn pull_policy_pattern_searches() {
        assert!(ValPat::PullPolicy.matches("every_12h"));
        assert!(ValPat::PullPolicy.matches("xalwaysx"));
        assert!(!ValPat::PullPolicy.matches("every_h"));
        assert!(ValPat::ContainerName.matches("-ab-"));
        assert!(!ValPat::ContainerName.matches("a"));
    }
}

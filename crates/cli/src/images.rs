//! Image commands: import, images, tag, rmi, history, image inspect/ls/rm/prune.

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use engine::lifecycle::Engine;
use image::Reference;
use serde_json::json;

use crate::format::{ago, human_size, table};

/// `import` options.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Apply a Dockerfile instruction (CMD, ENTRYPOINT, ENV, WORKDIR, EXPOSE, USER, LABEL, VOLUME).
    #[arg(short, long = "change")]
    pub change: Vec<String>,
    /// Commit message (recorded in the history).
    #[arg(short, long)]
    pub message: Option<String>,
    /// Tarball path, or `-` for standard input.
    pub file: String,
    /// Name for the image.
    pub reference: Option<String>,
}

/// `save` options.
#[derive(Debug, Args)]
pub struct SaveArgs {
    /// Write to this file instead of standard output.
    #[arg(short, long)]
    pub output: Option<String>,
    /// `docker-archive` (default) or `oci-archive`.
    #[arg(long, default_value = "docker-archive")]
    pub format: String,
    /// Images (names or ids).
    #[arg(required = true)]
    pub images: Vec<String>,
}

/// `load` options.
#[derive(Debug, Args)]
pub struct LoadArgs {
    /// Read from this file instead of standard input.
    #[arg(short, long)]
    pub input: Option<String>,
    /// Print only the ids.
    #[arg(short, long)]
    pub quiet: bool,
}

/// `images` options.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only ids.
    #[arg(short, long)]
    pub quiet: bool,
    /// Show all images (Docker's flag: quai keeps no intermediate images, so the list
    /// is the same).
    #[arg(short, long)]
    pub all: bool,
    /// Show digests.
    #[arg(long)]
    pub digests: bool,
    /// Filter: `reference=PATTERN`, `dangling=true|false`.
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// `json`, or `table` (default).
    #[arg(long)]
    pub format: Option<String>,
    /// Do not truncate ids.
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Repository to show (`busybox`, `busybox:1.36`).
    pub repository: Option<String>,
}

/// `image ...`.
#[derive(Debug, Subcommand)]
pub enum ImageCmd {
    /// Build an image from a Dockerfile.
    Build(Box<crate::build_cmd::BuildArgs>),
    /// List images.
    #[command(alias = "list")]
    Ls(ListArgs),
    /// Show images as JSON.
    Inspect {
        /// Images.
        #[arg(required = true)]
        images: Vec<String>,
    },
    /// Remove images.
    Rm {
        /// Remove an image with several names by id.
        #[arg(short, long)]
        force: bool,
        /// Images.
        #[arg(required = true)]
        images: Vec<String>,
    },
    /// Import a tarball.
    Import(ImportArgs),
    /// Name an image.
    Tag {
        /// Source.
        source: String,
        /// New name.
        target: String,
    },
    /// Show history.
    History(HistoryArgs),
    /// Save images to a tar archive.
    Save(SaveArgs),
    /// Load images from a tar archive.
    Load(LoadArgs),
    /// Remove unused data (untagged images, unreferenced blobs and layers).
    Prune {
        /// Remove all images without a container (no engine yet: all untagged and tagged).
        #[arg(short, long)]
        all: bool,
        /// Do not ask.
        #[arg(short, long)]
        force: bool,
    },
}

fn short(d: &content::Digest, no_trunc: bool) -> String {
    if no_trunc {
        d.to_string()
    } else {
        d.hex()[..12].to_string()
    }
}

/// `quai import`.
pub fn import(eng: &Engine, a: ImportArgs) -> anyhow::Result<i32> {
    let name = a
        .reference
        .as_deref()
        .map(str::parse::<Reference>)
        .transpose()?;
    let id = if a.file == "-" {
        eng.image_import(
            std::io::stdin().lock(),
            name.as_ref(),
            &a.change,
            a.message.as_deref(),
        )?
    } else {
        let f = std::fs::File::open(&a.file).with_context(|| format!("open {}", a.file))?;
        eng.image_import(f, name.as_ref(), &a.change, a.message.as_deref())?
    };
    println!("{id}");
    Ok(0)
}

fn matches_filter(
    img: &image::store::ImageSummary,
    tag: Option<&Reference>,
    filters: &[(String, String)],
) -> bool {
    // (reference= is applied per name, when the rows are made.)
    for (k, v) in filters {
        if k == "dangling" && (v == "true") != img.tags.is_empty() {
            return false;
        }
    }
    if let Some(t) = tag {
        return img.tags.iter().any(|x| {
            x.repository() == t.repository()
                && (t.tag.as_deref() == Some("latest") || x.tag == t.tag)
        });
    }
    true
}

/// A repository as `images` prints it (`docker.io/library/x` is `x`).
fn familiar_repo(r: &str) -> String {
    r.strip_prefix("docker.io/")
        .map(|x| x.strip_prefix("library/").unwrap_or(x))
        .unwrap_or(r)
        .to_string()
}

/// Docker's header names of `images` fields (docker/cli's image formatter).
const IMAGES_HEADERS: &[(&str, &str)] = &[
    ("ID", "IMAGE ID"),
    ("Repository", "REPOSITORY"),
    ("Tag", "TAG"),
    ("Digest", "DIGEST"),
    ("CreatedSince", "CREATED"),
    ("CreatedAt", "CREATED AT"),
    ("Size", "SIZE"),
    ("Containers", "CONTAINERS"),
    ("SharedSize", "SHARED SIZE"),
    ("UniqueSize", "UNIQUE SIZE"),
    ("VirtualSize", "VIRTUAL SIZE"),
];

/// `quai images`.
pub fn list(eng: &Engine, a: ListArgs) -> anyhow::Result<i32> {
    let filters: Vec<(String, String)> = a
        .filter
        .iter()
        .map(|f| {
            f.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .with_context(|| format!("invalid filter {f:?} (want key=value)"))
        })
        .collect::<anyhow::Result<_>>()?;
    for (k, _) in &filters {
        if !matches!(k.as_str(), "dangling" | "reference") {
            bail!("invalid filter {k:?} (supported: dangling, reference)");
        }
    }
    let repo = a
        .repository
        .as_deref()
        .map(str::parse::<Reference>)
        .transpose()?;
    let imgs: Vec<_> = eng
        .image_list()?
        .into_iter()
        .filter(|i| matches_filter(i, repo.as_ref(), &filters))
        .collect();
    if a.quiet && a.format.as_deref().is_none_or(|f| f == "table") {
        let mut seen = Vec::new();
        for i in &imgs {
            let id = short(&i.id, a.no_trunc);
            if !seen.contains(&id) {
                println!("{id}");
                seen.push(id);
            }
        }
        return Ok(0);
    }
    // One row per name (and one for an image without any).
    let mut rows = Vec::new();
    for i in &imgs {
        let names: Vec<(String, String)> = if i.tags.is_empty() {
            vec![("<none>".into(), "<none>".into())]
        } else {
            i.tags
                .iter()
                .map(|t| {
                    let f = t.familiar();
                    let (repo, tag) = f
                        .rsplit_once(':')
                        .map(|(r, t)| (r.to_string(), t.to_string()))
                        .unwrap_or((f.clone(), "<none>".into()));
                    (repo, tag)
                })
                .collect()
        };
        for (repo, tag) in names {
            // Docker's reference filter keeps only the names that match, not whole images.
            let refs: Vec<&String> = filters
                .iter()
                .filter(|(k, _)| k == "reference")
                .map(|(_, v)| v)
                .collect();
            // So does the REPOSITORY[:TAG] argument.
            let wanted = a
                .repository
                .as_deref()
                .is_none_or(|w| match w.rsplit_once(':') {
                    Some((r, t)) if !t.contains('/') => {
                        familiar_repo(r) == repo && (t == tag || (t == "latest" && tag == "latest"))
                    }
                    _ => familiar_repo(w) == repo,
                });
            if wanted
                && refs
                    .iter()
                    .all(|p| engine::images::reference_matches(p, &repo, &tag))
            {
                rows.push((repo, tag, i));
            }
        }
    }
    let docs: Vec<serde_json::Value> = rows
        .iter()
        .map(|(repo, tag, i)| {
            json!({"ID": short(&i.id, a.no_trunc), "Repository": repo, "Tag": tag, "Digest": "<none>",
                   "CreatedAt": engine::time::parse_rfc3339(&i.created).map(engine::time::go_string_secs).unwrap_or_default(), "CreatedSince": ago(&i.created), "Size": human_size(i.size),
                   "Containers": "N/A", "SharedSize": "N/A", "UniqueSize": "N/A", "VirtualSize": human_size(i.size)})
        })
        .collect();
    let format = a
        .format
        .clone()
        .or_else(|| crate::common::config_format("imagesFormat"));
    match format.as_deref() {
        Some("json") => {
            for d in &docs {
                println!("{}", crate::template::go_json(d));
            }
            return Ok(0);
        }
        Some(f) if f != "table" => {
            match f.strip_prefix("table") {
                Some(rest) => println!(
                    "{}",
                    crate::template::render_table(rest.trim_start(), &docs, IMAGES_HEADERS)
                        .map_err(anyhow::Error::msg)?
                ),
                None => {
                    for d in &docs {
                        println!(
                            "{}",
                            crate::template::render(f, d).map_err(anyhow::Error::msg)?
                        );
                    }
                }
            }
            return Ok(0);
        }
        _ => {}
    }
    let store_digests: Vec<(content::Digest, String)> = if a.digests {
        let mut v = Vec::new();
        for i in &imgs {
            for d in eng.image_repo_digests(&i.id)? {
                v.push((i.id.clone(), d));
            }
        }
        v
    } else {
        Vec::new()
    };
    let mut header = vec!["REPOSITORY", "TAG"];
    if a.digests {
        header.push("DIGEST");
    }
    header.extend(["IMAGE ID", "CREATED", "SIZE"]);
    let table_rows: Vec<Vec<String>> = rows
        .into_iter()
        .map(|(repo, tag, i)| {
            let digest = if a.digests {
                let want = format!("{repo}@");
                store_digests
                    .iter()
                    .find(|(id, d)| *id == i.id && d.starts_with(&want))
                    .map(|(_, d)| d[want.len()..].to_string())
                    .unwrap_or_else(|| "<none>".into())
            } else {
                String::new()
            };
            let mut r = vec![repo, tag];
            if a.digests {
                r.push(digest);
            }
            r.extend([
                short(&i.id, a.no_trunc),
                ago(&i.created),
                human_size(i.size),
            ]);
            r
        })
        .collect();
    table(&header, &table_rows);
    Ok(0)
}

/// `quai tag`.
pub fn tag(eng: &Engine, source: &str, target: &str) -> anyhow::Result<i32> {
    let dst: Reference = target.parse()?;
    eng.image_tag(source, &dst)?;
    Ok(0)
}

/// `quai rmi`.
pub fn rmi(eng: &Engine, images: &[String], force: bool) -> anyhow::Result<i32> {
    let mut code = 0;
    for i in images {
        match eng.image_remove(i, force) {
            Ok(lines) => lines.iter().for_each(|l| println!("{l}")),
            Err(e) => {
                eprintln!("Error: {e}");
                code = 1;
            }
        }
    }
    Ok(code)
}

/// `quai history`.
/// `history` options.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Image (name or id).
    pub image: String,
    /// Print the full ids and commands.
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Only ids.
    #[arg(short, long)]
    pub quiet: bool,
    /// Sizes and dates in human-readable form (default true).
    #[arg(short = 'H', long = "human", num_args = 0..=1, require_equals = true,
          default_value = "true", default_missing_value = "true", action = clap::ArgAction::Set)]
    pub human: bool,
    /// Go template (`table ...` for a table), or `json`.
    #[arg(long)]
    pub format: Option<String>,
}

/// Docker's header names of `history`'s fields.
const HISTORY_HEADERS: &[(&str, &str)] = &[
    ("ID", "IMAGE"),
    ("CreatedSince", "CREATED"),
    ("CreatedAt", "CREATED AT"),
    ("CreatedBy", "CREATED BY"),
    ("Size", "SIZE"),
    ("Comment", "COMMENT"),
];

/// `history`.
pub fn history(eng: &Engine, a: HistoryArgs) -> anyhow::Result<i32> {
    let no_trunc = a.no_trunc;
    let mut docs = Vec::new();
    for h in eng.image_history(&a.image)? {
        let created_by = if no_trunc || h.created_by.chars().count() <= 45 {
            h.created_by
        } else {
            format!("{}…", h.created_by.chars().take(44).collect::<String>())
        };
        let created = h.created.as_str();
        docs.push(json!({
            "ID": h.id.as_ref().map_or_else(|| "<missing>".into(), |id| short(id, no_trunc)),
            "CreatedSince": if a.human { ago(created) } else { created.to_string() },
            "CreatedAt": created,
            "CreatedBy": created_by,
            "Size": if a.human { human_size(h.size) } else { h.size.to_string() },
            "Comment": h.comment,
        }));
    }
    // As docker's: a format of one's own wins over -q.
    if a.quiet && a.format.is_none() {
        for d in &docs {
            println!("{}", d["ID"].as_str().unwrap_or_default());
        }
        return Ok(0);
    }
    match a.format.as_deref() {
        Some("json") => {
            for d in &docs {
                println!("{}", crate::template::go_json(d));
            }
        }
        Some(f) if f != "table" => match f.strip_prefix("table") {
            Some(rest) => println!(
                "{}",
                crate::template::render_table(rest.trim_start(), &docs, HISTORY_HEADERS)
                    .map_err(anyhow::Error::msg)?
            ),
            None => {
                for d in &docs {
                    println!(
                        "{}",
                        crate::template::render(f, d).map_err(anyhow::Error::msg)?
                    );
                }
            }
        },
        _ => {
            let rows: Vec<Vec<String>> = docs
                .iter()
                .map(|d| {
                    ["ID", "CreatedSince", "CreatedBy", "Size", "Comment"]
                        .iter()
                        .map(|k| d[k].as_str().unwrap_or_default().to_string())
                        .collect()
                })
                .collect();
            table(
                &["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"],
                &rows,
            );
        }
    }
    Ok(0)
}

/// `quai image ...`.
pub fn image_cmd(eng: &mut Engine, cmd: ImageCmd) -> anyhow::Result<i32> {
    match cmd {
        ImageCmd::Build(a) => crate::build_cmd::build(eng, *a),
        ImageCmd::Ls(a) => list(eng, a),
        ImageCmd::Import(a) => import(eng, a),
        ImageCmd::Tag { source, target } => tag(eng, &source, &target),
        ImageCmd::Rm { force, images } => rmi(eng, &images, force),
        ImageCmd::History(a) => history(eng, a),
        ImageCmd::Save(a) => save(eng, a),
        ImageCmd::Load(a) => load(eng, a),
        ImageCmd::Inspect { images } => {
            let mut out = Vec::new();
            let mut code = 0;
            for i in &images {
                match eng.image_inspect(i) {
                    Ok(v) => out.push(v),
                    Err(e) => {
                        eprintln!("Error: {e}");
                        code = 1;
                    }
                }
            }
            println!("{}", serde_json::to_string_pretty(&out)?);
            Ok(code)
        }
        ImageCmd::Prune { all, force: _ } => {
            let (deleted, freed) = eng.image_prune(all)?;
            if !deleted.is_empty() {
                println!("Deleted Images:");
                deleted.iter().for_each(|l| {
                    println!(
                        "{}",
                        l.to_string()
                            .replacen("Untagged", "untagged", 1)
                            .replacen("Deleted", "deleted", 1)
                    )
                });
                println!();
            }
            println!("Total reclaimed space: {}", human_size(freed));
            Ok(0)
        }
    }
}

/// `quai save`.
pub fn save(eng: &Engine, a: SaveArgs) -> anyhow::Result<i32> {
    use std::io::IsTerminal;
    let format = match a.format.as_str() {
        "docker-archive" | "docker" => engine::images::ArchiveFormat::DockerArchive,
        "oci-archive" | "oci" => engine::images::ArchiveFormat::OciArchive,
        other => bail!("unsupported --format {other:?} (docker-archive or oci-archive)"),
    };
    match &a.output {
        Some(path) => {
            // Write next to the target and rename: a failed save leaves no half archive.
            let tmp = format!("{path}.quai-tmp");
            let f = std::fs::File::create(&tmp).with_context(|| format!("create {tmp}"))?;
            let res = eng.image_save(&a.images, format, std::io::BufWriter::new(f));
            if let Err(e) = res {
                let _ = std::fs::remove_file(&tmp);
                return Err(e.into());
            }
            std::fs::rename(&tmp, path).with_context(|| format!("write {path}"))?;
        }
        None => {
            if std::io::stdout().is_terminal() {
                bail!(
                    "cowardly refusing to write an archive to a terminal: use -o FILE or redirect"
                );
            }
            eng.image_save(&a.images, format, std::io::stdout().lock())?;
        }
    }
    Ok(0)
}

/// `quai load`.
pub fn load(eng: &Engine, a: LoadArgs) -> anyhow::Result<i32> {
    let loaded = match &a.input {
        Some(p) => eng.image_load(std::io::BufReader::new(
            std::fs::File::open(p).with_context(|| format!("open {p}"))?,
        ))?,
        None => eng.image_load(std::io::stdin().lock())?,
    };
    for (id, names) in loaded {
        if a.quiet {
            println!("{id}");
        } else if names.is_empty() {
            println!("Loaded image ID: {id}");
        } else {
            names
                .iter()
                .for_each(|n| println!("Loaded image: {}", n.familiar()));
        }
    }
    Ok(0)
}

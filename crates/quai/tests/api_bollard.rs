//! bollard, the Rust SDK, as a client of `quai system service`: ping and version, a
//! container created with a typed body, started, waited for, its logs, an exec with its
//! exit code, inspect, volumes and networks, and errors as typed responses.

mod api_common;
mod common;
mod engine_common;

use api_common::Service;
use bollard::models::{ContainerCreateBody, ExecConfig, HostConfig, NetworkCreateRequest};
use bollard::query_parameters as qp;
use bollard::Docker;
use engine_common::{root_or_skip, Eng};
use futures_util::{StreamExt, TryStreamExt};

#[test]
fn bollard_drives_quai_through_the_api() {
    if !root_or_skip("bollard_drives_quai_through_the_api") {
        return;
    }
    let e = Eng::new();
    let svc = Service::start(&e);
    let sock = svc.sock.clone();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let docker = Docker::connect_with_unix(
            sock.to_str().expect("utf-8"),
            60,
            bollard::API_DEFAULT_VERSION,
        )
        .expect("connect");
        assert_eq!(docker.ping().await.expect("ping"), "OK");
        let v = docker.version().await.expect("version");
        assert_eq!(v.api_version.as_deref(), Some("1.47"));
        assert_eq!(v.os.as_deref(), Some("linux"));
        let images = docker
            .list_images(None::<qp::ListImagesOptions>)
            .await
            .expect("images");
        assert!(images
            .iter()
            .any(|i| i.repo_tags.iter().any(|t| t == "localbusybox:latest")));
        // A container from a typed body: env, labels, a volume bind, no network.
        let body = ContainerCreateBody {
            image: Some("localbusybox".into()),
            cmd: Some(vec![
                "sh".into(),
                "-c".into(),
                "echo out $GREETING; echo err >&2; echo kept > /data/f; exit 7".into(),
            ]),
            env: Some(vec!["GREETING=hi".into()]),
            labels: Some([("app".to_string(), "bollard".to_string())].into()),
            host_config: Some(HostConfig {
                network_mode: Some("none".into()),
                binds: Some(vec!["bvol:/data".into()]),
                ..Default::default()
            }),
            ..Default::default()
        };
        let id = docker
            .create_container(
                Some(
                    qp::CreateContainerOptionsBuilder::default()
                        .name("b1")
                        .build(),
                ),
                body,
            )
            .await
            .expect("create")
            .id;
        docker
            .start_container("b1", None::<qp::StartContainerOptions>)
            .await
            .expect("start");
        // bollard reports a non-zero exit as an error carrying the code.
        let waited: Vec<_> = docker
            .wait_container("b1", None::<qp::WaitContainerOptions>)
            .collect()
            .await;
        let code = match waited.first() {
            Some(Ok(r)) => r.status_code,
            Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => *code,
            other => panic!("wait: {other:?}"),
        };
        assert_eq!(code, 7);
        let logs: Vec<_> = docker
            .logs(
                "b1",
                Some(
                    qp::LogsOptionsBuilder::default()
                        .stdout(true)
                        .stderr(true)
                        .build(),
                ),
            )
            .try_collect()
            .await
            .expect("logs");
        let (mut out, mut err) = (String::new(), String::new());
        for l in logs {
            match l {
                bollard::container::LogOutput::StdOut { message } => {
                    out.push_str(&String::from_utf8_lossy(&message))
                }
                bollard::container::LogOutput::StdErr { message } => {
                    err.push_str(&String::from_utf8_lossy(&message))
                }
                _ => {}
            }
        }
        assert_eq!((out.as_str(), err.as_str()), ("out hi\n", "err\n"));
        let c = docker
            .inspect_container("b1", None::<qp::InspectContainerOptions>)
            .await
            .expect("inspect");
        assert_eq!(c.id.as_deref(), Some(id.as_str()));
        let state = c.state.expect("state");
        assert_eq!(state.exit_code, Some(7));
        assert_eq!(
            c.config
                .and_then(|c| c.labels)
                .and_then(|l| l.get("app").cloned()),
            Some("bollard".to_string())
        );
        // An exec in a running container, and its exit code.
        docker
            .create_container(
                Some(
                    qp::CreateContainerOptionsBuilder::default()
                        .name("b2")
                        .build(),
                ),
                ContainerCreateBody {
                    image: Some("localbusybox".into()),
                    cmd: Some(vec!["sleep".into(), "600".into()]),
                    host_config: Some(HostConfig {
                        network_mode: Some("none".into()),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
            )
            .await
            .expect("create b2");
        docker
            .start_container("b2", None::<qp::StartContainerOptions>)
            .await
            .expect("start b2");
        let exec = docker
            .create_exec(
                "b2",
                ExecConfig {
                    attach_stdout: Some(true),
                    attach_stderr: Some(true),
                    cmd: Some(vec![
                        "sh".into(),
                        "-c".into(),
                        "cat /etc/hostname >/dev/null; echo exec-out; exit 3".into(),
                    ]),
                    ..Default::default()
                },
            )
            .await
            .expect("create exec")
            .id;
        let mut seen = String::new();
        if let bollard::exec::StartExecResults::Attached { mut output, .. } =
            docker.start_exec(&exec, None).await.expect("start exec")
        {
            while let Some(Ok(m)) = output.next().await {
                seen.push_str(&m.to_string());
            }
        }
        assert_eq!(seen, "exec-out\n");
        let ei = docker.inspect_exec(&exec).await.expect("inspect exec");
        assert_eq!((ei.running, ei.exit_code), (Some(false), Some(3)));
        // Docker's documents decode into bollard's types (bollard-stubs, generated from
        // the Engine API's own description): lists, inspects, info, df, history, top,
        // changes, one stats reading, events.
        let listed = docker
            .list_containers(Some(
                qp::ListContainersOptionsBuilder::default()
                    .all(true)
                    .build(),
            ))
            .await
            .expect("list containers");
        assert_eq!(listed.len(), 2);
        assert!(listed
            .iter()
            .any(|c| c.names.as_deref() == Some(&["/b2".to_string()][..])));
        let img = docker
            .inspect_image("localbusybox")
            .await
            .expect("inspect image");
        assert!(img.id.as_deref().is_some_and(|i| i.starts_with("sha256:")));
        assert!(!docker
            .image_history("localbusybox")
            .await
            .expect("history")
            .is_empty());
        let info = docker.info().await.expect("info");
        assert_eq!(info.containers, Some(2));
        let df = docker.df(None).await.expect("df");
        assert!(!df.images.unwrap_or_default().is_empty());
        let top = docker
            .top_processes("b2", None::<qp::TopOptions>)
            .await
            .expect("top");
        assert!(top
            .processes
            .unwrap_or_default()
            .iter()
            .any(|p| p.iter().any(|f| f.contains("sleep"))));
        docker.container_changes("b2").await.expect("changes");
        let stats: Vec<_> = docker
            .stats(
                "b2",
                Some(
                    qp::StatsOptionsBuilder::default()
                        .stream(false)
                        .one_shot(true)
                        .build(),
                ),
            )
            .try_collect()
            .await
            .expect("stats");
        assert!(
            stats[0]
                .memory_stats
                .as_ref()
                .and_then(|m| m.usage)
                .unwrap_or(0)
                > 0
        );
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let events: Vec<_> = docker
            .events(Some(
                qp::EventsOptionsBuilder::default()
                    .since(&(now - 60).to_string())
                    .until(&(now + 1).to_string())
                    .build(),
            ))
            .try_collect()
            .await
            .expect("events");
        assert!(events.iter().any(|e| e.action.as_deref() == Some("start")));
        docker
            .list_networks(None::<qp::ListNetworksOptions>)
            .await
            .expect("networks");
        docker.inspect_volume("bvol").await.expect("inspect volume");
        // Volumes and networks.
        let vols = docker
            .list_volumes(None::<qp::ListVolumesOptions>)
            .await
            .expect("volumes");
        assert!(vols
            .volumes
            .unwrap_or_default()
            .iter()
            .any(|v| v.name == "bvol"));
        let net = docker
            .create_network(NetworkCreateRequest {
                name: "bnet".into(),
                ..Default::default()
            })
            .await
            .expect("network");
        assert_eq!(net.id.len(), 64);
        let n = docker
            .inspect_network("bnet", None::<qp::InspectNetworkOptions>)
            .await
            .expect("inspect network");
        assert_eq!(n.name.as_deref(), Some("bnet"));
        docker.remove_network("bnet").await.expect("remove network");
        // Errors: typed, with dockerd's status and words.
        match docker
            .inspect_container("nosuch", None::<qp::InspectContainerOptions>)
            .await
        {
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code,
                message,
            }) => {
                assert_eq!(status_code, 404);
                assert!(message.contains("No such container: nosuch"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        for c in ["b1", "b2"] {
            docker
                .remove_container(
                    c,
                    Some(
                        qp::RemoveContainerOptionsBuilder::default()
                            .force(true)
                            .build(),
                    ),
                )
                .await
                .expect("remove");
        }
        docker
            .remove_volume("bvol", None::<qp::RemoveVolumeOptions>)
            .await
            .expect("remove volume");
    });
    assert_eq!(e.ok(&["ps", "-aq"]), "");
}

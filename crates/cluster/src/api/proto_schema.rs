//! The protobuf field numbers and JSON names of the Kubernetes 1.32 API objects that
//! clients send as protobuf (`kubectl create ...`, typed client-go clients): a table
//! made from the field numbers of the published `generated.proto` files and the Go
//! types' JSON tags (which fields are pointers, which are inlined). Data, not logic:
//! the decoder is `proto.rs`.

use super::proto::{F, INLINE, PTR, REP, T};

/// `OwnerReference`
pub const META_OWNER_REFERENCE: &[F] = &[
    F::new(5, "apiVersion", T::Str, 0),
    F::new(1, "kind", T::Str, 0),
    F::new(3, "name", T::Str, 0),
    F::new(4, "uid", T::Str, 0),
    F::new(6, "controller", T::Bool, PTR),
    F::new(7, "blockOwnerDeletion", T::Bool, PTR),
];

/// `ManagedFieldsEntry`
pub const META_MANAGED_FIELDS_ENTRY: &[F] = &[
    F::new(1, "manager", T::Str, 0),
    F::new(2, "operation", T::Str, 0),
    F::new(3, "apiVersion", T::Str, 0),
    F::new(4, "time", T::Time, PTR),
    F::new(6, "fieldsType", T::Str, 0),
    F::new(7, "fieldsV1", T::FieldsV1, PTR),
    F::new(8, "subresource", T::Str, 0),
];

/// `ObjectMeta`
pub const META_OBJECT_META: &[F] = &[
    F::new(1, "name", T::Str, 0),
    F::new(2, "generateName", T::Str, 0),
    F::new(3, "namespace", T::Str, 0),
    F::new(4, "selfLink", T::Str, 0),
    F::new(5, "uid", T::Str, 0),
    F::new(6, "resourceVersion", T::Str, 0),
    F::new(7, "generation", T::I64, 0),
    F::new(8, "creationTimestamp", T::Time, 0),
    F::new(9, "deletionTimestamp", T::Time, PTR),
    F::new(10, "deletionGracePeriodSeconds", T::I64, PTR),
    F::new(11, "labels", T::MapStr, 0),
    F::new(12, "annotations", T::MapStr, 0),
    F::new(13, "ownerReferences", T::Msg(META_OWNER_REFERENCE), REP),
    F::new(14, "finalizers", T::Str, REP),
    F::new(17, "managedFields", T::Msg(META_MANAGED_FIELDS_ENTRY), REP),
];

/// `NamespaceSpec`
pub const CORE_NAMESPACE_SPEC: &[F] = &[
    F::new(1, "finalizers", T::Str, REP),
];

/// `NamespaceCondition`
pub const CORE_NAMESPACE_CONDITION: &[F] = &[
    F::new(1, "type", T::Str, 0),
    F::new(2, "status", T::Str, 0),
    F::new(4, "lastTransitionTime", T::Time, 0),
    F::new(5, "reason", T::Str, 0),
    F::new(6, "message", T::Str, 0),
];

/// `NamespaceStatus`
pub const CORE_NAMESPACE_STATUS: &[F] = &[
    F::new(1, "phase", T::Str, 0),
    F::new(2, "conditions", T::Msg(CORE_NAMESPACE_CONDITION), REP),
];

/// `Namespace`
pub const CORE_NAMESPACE: &[F] = &[
    F::new(1, "metadata", T::Msg(META_OBJECT_META), 0),
    F::new(2, "spec", T::Msg(CORE_NAMESPACE_SPEC), 0),
    F::new(3, "status", T::Msg(CORE_NAMESPACE_STATUS), 0),
];

/// `ConfigMap`
pub const CORE_CONFIG_MAP: &[F] = &[
    F::new(1, "metadata", T::Msg(META_OBJECT_META), 0),
    F::new(4, "immutable", T::Bool, PTR),
    F::new(2, "data", T::MapStr, 0),
    F::new(3, "binaryData", T::MapBytes, 0),
];

/// `Secret`
pub const CORE_SECRET: &[F] = &[
    F::new(1, "metadata", T::Msg(META_OBJECT_META), 0),
    F::new(5, "immutable", T::Bool, PTR),
    F::new(2, "data", T::MapBytes, 0),
    F::new(4, "stringData", T::MapStr, 0),
    F::new(3, "type", T::Str, 0),
];

/// `ServicePort`
pub const CORE_SERVICE_PORT: &[F] = &[
    F::new(1, "name", T::Str, 0),
    F::new(2, "protocol", T::Str, 0),
    F::new(6, "appProtocol", T::Str, PTR),
    F::new(3, "port", T::I32, 0),
    F::new(4, "targetPort", T::IntOrString, 0),
    F::new(5, "nodePort", T::I32, 0),
];

/// `ClientIPConfig`
pub const CORE_CLIENT_I_P_CONFIG: &[F] = &[
    F::new(1, "timeoutSeconds", T::I32, PTR),
];

/// `SessionAffinityConfig`
pub const CORE_SESSION_AFFINITY_CONFIG: &[F] = &[
    F::new(1, "clientIP", T::Msg(CORE_CLIENT_I_P_CONFIG), PTR),
];

/// `ServiceSpec`
pub const CORE_SERVICE_SPEC: &[F] = &[
    F::new(1, "ports", T::Msg(CORE_SERVICE_PORT), REP),
    F::new(2, "selector", T::MapStr, 0),
    F::new(3, "clusterIP", T::Str, 0),
    F::new(18, "clusterIPs", T::Str, REP),
    F::new(4, "type", T::Str, 0),
    F::new(5, "externalIPs", T::Str, REP),
    F::new(7, "sessionAffinity", T::Str, 0),
    F::new(8, "loadBalancerIP", T::Str, 0),
    F::new(9, "loadBalancerSourceRanges", T::Str, REP),
    F::new(10, "externalName", T::Str, 0),
    F::new(11, "externalTrafficPolicy", T::Str, 0),
    F::new(12, "healthCheckNodePort", T::I32, 0),
    F::new(13, "publishNotReadyAddresses", T::Bool, 0),
    F::new(14, "sessionAffinityConfig", T::Msg(CORE_SESSION_AFFINITY_CONFIG), PTR),
    F::new(19, "ipFamilies", T::Str, REP),
    F::new(17, "ipFamilyPolicy", T::Str, PTR),
    F::new(20, "allocateLoadBalancerNodePorts", T::Bool, PTR),
    F::new(21, "loadBalancerClass", T::Str, PTR),
    F::new(22, "internalTrafficPolicy", T::Str, PTR),
    F::new(23, "trafficDistribution", T::Str, PTR),
];

/// `PortStatus`
pub const CORE_PORT_STATUS: &[F] = &[
    F::new(1, "port", T::I32, 0),
    F::new(2, "protocol", T::Str, 0),
    F::new(3, "error", T::Str, PTR),
];

/// `LoadBalancerIngress`
pub const CORE_LOAD_BALANCER_INGRESS: &[F] = &[
    F::new(1, "ip", T::Str, 0),
    F::new(2, "hostname", T::Str, 0),
    F::new(3, "ipMode", T::Str, PTR),
    F::new(4, "ports", T::Msg(CORE_PORT_STATUS), REP),
];

/// `LoadBalancerStatus`
pub const CORE_LOAD_BALANCER_STATUS: &[F] = &[
    F::new(1, "ingress", T::Msg(CORE_LOAD_BALANCER_INGRESS), REP),
];

/// `Condition`
pub const META_CONDITION: &[F] = &[
    F::new(1, "type", T::Str, 0),
    F::new(2, "status", T::Str, 0),
    F::new(3, "observedGeneration", T::I64, 0),
    F::new(4, "lastTransitionTime", T::Time, 0),
    F::new(5, "reason", T::Str, 0),
    F::new(6, "message", T::Str, 0),
];

/// `ServiceStatus`
pub const CORE_SERVICE_STATUS: &[F] = &[
    F::new(1, "loadBalancer", T::Msg(CORE_LOAD_BALANCER_STATUS), 0),
    F::new(2, "conditions", T::Msg(META_CONDITION), REP),
];

/// `Service`
pub const CORE_SERVICE: &[F] = &[
    F::new(1, "metadata", T::Msg(META_OBJECT_META), 0),
    F::new(2, "spec", T::Msg(CORE_SERVICE_SPEC), 0),
    F::new(3, "status", T::Msg(CORE_SERVICE_STATUS), 0),
];

/// `ObjectReference`
pub const CORE_OBJECT_REFERENCE: &[F] = &[
    F::new(1, "kind", T::Str, 0),
    F::new(2, "namespace", T::Str, 0),
    F::new(3, "name", T::Str, 0),
    F::new(4, "uid", T::Str, 0),
    F::new(5, "apiVersion", T::Str, 0),
    F::new(6, "resourceVersion", T::Str, 0),
    F::new(7, "fieldPath", T::Str, 0),
];

/// `LocalObjectReference`
pub const CORE_LOCAL_OBJECT_REFERENCE: &[F] = &[
    F::new(1, "name", T::Str, 0),
];

/// `ServiceAccount`
pub const CORE_SERVICE_ACCOUNT: &[F] = &[
    F::new(1, "metadata", T::Msg(META_OBJECT_META), 0),
    F::new(2, "secrets", T::Msg(CORE_OBJECT_REFERENCE), REP),
    F::new(3, "imagePullSecrets", T::Msg(CORE_LOCAL_OBJECT_REFERENCE), REP),
    F::new(4, "automountServiceAccountToken", T::Bool, PTR),
];

/// `HostPathVolumeSource`
pub const CORE_HOST_PATH_VOLUME_SOURCE: &[F] = &[
    F::new(1, "path", T::Str, 0),
    F::new(2, "type", T::Str, PTR),
];

/// `EmptyDirVolumeSource`
pub const CORE_EMPTY_DIR_VOLUME_SOURCE: &[F] = &[
    F::new(1, "medium", T::Str, 0),
    F::new(2, "sizeLimit", T::Quantity, PTR),
];

/// `GCEPersistentDiskVolumeSource`
pub const CORE_G_C_E_PERSISTENT_DISK_VOLUME_SOURCE: &[F] = &[
    F::new(1, "pdName", T::Str, 0),
    F::new(2, "fsType", T::Str, 0),
    F::new(3, "partition", T::I32, 0),
    F::new(4, "readOnly", T::Bool, 0),
];

/// `AWSElasticBlockStoreVolumeSource`
pub const CORE_A_W_S_ELASTIC_BLOCK_STORE_VOLUME_SOURCE: &[F] = &[
    F::new(1, "volumeID", T::Str, 0),
    F::new(2, "fsType", T::Str, 0),
    F::new(3, "partition", T::I32, 0),
    F::new(4, "readOnly", T::Bool, 0),
];

/// `GitRepoVolumeSource`
pub const CORE_GIT_REPO_VOLUME_SOURCE: &[F] = &[
    F::new(1, "repository", T::Str, 0),
    F::new(2, "revision", T::Str, 0),
    F::new(3, "directory", T::Str, 0),
];

/// `KeyToPath`
pub const CORE_KEY_TO_PATH: &[F] = &[
    F::new(1, "key", T::Str, 0),
    F::new(2, "path", T::Str, 0),
    F::new(3, "mode", T::I32, PTR),
];

/// `SecretVolumeSource`
pub const CORE_SECRET_VOLUME_SOURCE: &[F] = &[
    F::new(1, "secretName", T::Str, 0),
    F::new(2, "items", T::Msg(CORE_KEY_TO_PATH), REP),
    F::new(3, "defaultMode", T::I32, PTR),
    F::new(4, "optional", T::Bool, PTR),
];

/// `NFSVolumeSource`
pub const CORE_N_F_S_VOLUME_SOURCE: &[F] = &[
    F::new(1, "server", T::Str, 0),
    F::new(2, "path", T::Str, 0),
    F::new(3, "readOnly", T::Bool, 0),
];

/// `ISCSIVolumeSource`
pub const CORE_I_S_C_S_I_VOLUME_SOURCE: &[F] = &[
    F::new(1, "targetPortal", T::Str, 0),
    F::new(2, "iqn", T::Str, 0),
    F::new(3, "lun", T::I32, 0),
    F::new(4, "iscsiInterface", T::Str, 0),
    F::new(5, "fsType", T::Str, 0),
    F::new(6, "readOnly", T::Bool, 0),
    F::new(7, "portals", T::Str, REP),
    F::new(8, "chapAuthDiscovery", T::Bool, 0),
    F::new(11, "chapAuthSession", T::Bool, 0),
    F::new(10, "secretRef", T::Msg(CORE_LOCAL_OBJECT_REFERENCE), PTR),
    F::new(12, "initiatorName", T::Str, PTR),
];

/// `GlusterfsVolumeSource`
pub const CORE_GLUSTERFS_VOLUME_SOURCE: &[F] = &[
    F::new(1, "endpoints", T::Str, 0),
    F::new(2, "path", T::Str, 0),
    F::new(3, "readOnly", T::Bool, 0),
];

/// `PersistentVolumeClaimVolumeSource`
pub const CORE_PERSISTENT_VOLUME_CLAIM_VOLUME_SOURCE: &[F] = &[
    F::new(1, "claimName", T::Str, 0),
    F::new(2, "readOnly", T::Bool, 0),
];

/// `RBDVolumeSource`
pub const CORE_R_B_D_VOLUME_SOURCE: &[F] = &[
    F::new(1, "monitors", T::Str, REP),
    F::new(2, "image", T::Str, 0),
    F::new(3, "fsType", T::Str, 0),
    F::new(4, "pool", T::Str, 0),
    F::new(5, "user", T::Str, 0),
    F::new(6, "keyring", T::Str, 0),
    F::new(7, "secretRef", T::Msg(CORE_LOCAL_OBJECT_REFERENCE), PTR),
    F::new(8, "readOnly", T::Bool, 0),
];

/// `FlexVolumeSource`
pub const CORE_FLEX_VOLUME_SOURCE: &[F] = &[
    F::new(1, "driver", T::Str, 0),
    F::new(2, "fsType", T::Str, 0),
    F::new(3, "secretRef", T::Msg(CORE_LOCAL_OBJECT_REFERENCE), PTR),
    F::new(4, "readOnly", T::Bool, 0),
    F::new(5, "options", T::MapStr, 0),
];

/// `CinderVolumeSource`
pub const CORE_CINDER_VOLUME_SOURCE: &[F] = &[
    F::new(1, "volumeID", T::Str, 0),
    F::new(2, "fsType", T::Str, 0),
    F::new(3, "readOnly", T::Bool, 0),
    F::new(4, "secretRef", T::Msg(CORE_LOCAL_OBJECT_REFERENCE), PTR),
];

/// `CephFSVolumeSource`
pub const CORE_CEPH_F_S_VOLUME_SOURCE: &[F] = &[
    F::new(1, "monitors", T::Str, REP),
    F::new(2, "path", T::Str, 0),
    F::new(3, "user", T::Str, 0),
    F::new(4, "secretFile", T::Str, 0),
    F::new(5, "secretRef", T::Msg(CORE_LOCAL_OBJECT_REFERENCE), PTR),
    F::new(6, "readOnly", T::Bool, 0),
];

/// `FlockerVolumeSource`
pub const CORE_FLOCKER_VOLUME_SOURCE: &[F] = &[
    F::new(1, "datasetName", T::Str, 0),
    F::new(2, "datasetUUID", T::Str, 0),
];

/// `ObjectFieldSelector`
pub const CORE_OBJECT_FIELD_SELECTOR: &[F] = &[
    F::new(1, "apiVersion", T::Str, 0),
    F::new(2, "fieldPath", T::Str, 0),
];

/// `ResourceFieldSelector`
pub const CORE_RESOURCE_FIELD_SELECTOR: &[F] = &[
    F::new(1, "containerName", T::Str, 0),
    F::new(2, "resource", T::Str, 0),
    F::new(3, "divisor", T::Quantity, 0),
];

/// `DownwardAPIVolumeFile`
pub const CORE_DOWNWARD_A_P_I_VOLUME_FILE: &[F] = &[
    F::new(1, "path", T::Str, 0),
    F::new(2, "fieldRef", T::Msg(CORE_OBJECT_FIELD_SELECTOR), PTR),
    F::new(3, "resourceFieldRef", T::Msg(CORE_RESOURCE_FIELD_SELECTOR), PTR),
    F::new(4, "mode", T::I32, PTR),
];

/// `DownwardAPIVolumeSource`
pub const CORE_DOWNWARD_A_P_I_VOLUME_SOURCE: &[F] = &[
    F::new(1, "items", T::Msg(CORE_DOWNWARD_A_P_I_VOLUME_FILE), REP),
    F::new(2, "defaultMode", T::I32, PTR),
];

/// `FCVolumeSource`
pub const CORE_F_C_VOLUME_SOURCE: &[F] = &[
    F::new(1, "targetWWNs", T::Str, REP),
    F::new(2, "lun", T::I32, PTR),
    F::new(3, "fsType", T::Str, 0),
    F::new(4, "readOnly", T::Bool, 0),
    F::new(5, "wwids", T::Str, REP),
];

/// `AzureFileVolumeSource`
pub const CORE_AZURE_FILE_VOLUME_SOURCE: &[F] = &[
    F::new(1, "secretName", T::Str, 0),
    F::new(2, "shareName", T::Str, 0),
    F::new(3, "readOnly", T::Bool, 0),
];

/// `ConfigMapVolumeSource`
pub const CORE_CONFIG_MAP_VOLUME_SOURCE: &[F] = &[
    F::new(1, "localObjectReference", T::Msg(CORE_LOCAL_OBJECT_REFERENCE), INLINE),
    F::new(2, "items", T::Msg(CORE_KEY_TO_PATH), REP),
    F::new(3, "defaultMode", T::I32, PTR),
    F::new(4, "optional", T::Bool, PTR),
];

/// `VsphereVirtualDiskVolumeSource`
pub const CORE_VSPHERE_VIRTUAL_DISK_VOLUME_SOURCE: &[F] = &[
    F::new(1, "volumePath", T::Str, 0),
    F::new(2, "fsType", T::Str, 0),
    F::new(3, "storagePolicyName", T::Str, 0),
    F::new(4, "storagePolicyID", T::Str, 0),
];

/// `QuobyteVolumeSource`
pub const CORE_QUOBYTE_VOLUME_SOURCE: &[F] = &[
    F::new(1, "registry", T::Str, 0),
    F::new(2, "volume", T::Str, 0),
    F::new(3, "readOnly", T::Bool, 0),
    F::new(4, "user", T::Str, 0),
    F::new(5, "group", T::Str, 0),
    F::new(6, "tenant", T::Str, 0),
];

/// `AzureDiskVolumeSource`
pub const CORE_AZURE_DISK_VOLUME_SOURCE: &[F] = &[
    F::new(1, "diskName", T::Str, 0),
    F::new(2, "diskURI", T::Str, 0),
    F::new(3, "cachingMode", T::Str, PTR),
    F::new(4, "fsType", T::Str, PTR),
    F::new(5, "readOnly", T::Bool, PTR),
    F::new(6, "kind", T::Str, PTR),
];

/// `PhotonPersistentDiskVolumeSource`
pub const CORE_PHOTON_PERSISTENT_DISK_VOLUME_SOURCE: &[F] = &[
    F::new(1, "pdID", T::Str, 0),
    F::new(2, "fsType", T::Str, 0),
];

/// `SecretProjection`
pub const CORE_SECRET_PROJECTION: &[F] = &[
    F::new(1, "localObjectReference", T::Msg(CORE_LOCAL_OBJECT_REFERENCE), INLINE),
    F::new(2, "items", T::Msg(CORE_KEY_TO_PATH), REP),
    F::new(4, "optional", T::Bool, PTR),
];

/// `DownwardAPIProjection`
pub const CORE_DOWNWARD_A_P_I_PROJECTION: &[F] = &[
    F::new(1, "items", T::Msg(CORE_DOWNWARD_A_P_I_VOLUME_FILE), REP),
];

/// `ConfigMapProjection`
pub const CORE_CONFIG_MAP_PROJECTION: &[F] = &[
    F::new(1, "localObjectReference", T::Msg(CORE_LOCAL_OBJECT_REFERENCE), INLINE),
    F::new(2, "items", T::Msg(CORE_KEY_TO_PATH), REP),
    F::new(4, "optional", T::Bool, PTR),
];

/// `ServiceAccountTokenProjection`
pub const CORE_SERVICE_ACCOUNT_TOKEN_PROJECTION: &[F] = &[
    F::new(1, "audience", T::Str, 0),
    F::new(2, "expirationSeconds", T::I64, PTR),
    F::new(3, "path", T::Str, 0),
];

/// `LabelSelectorRequirement`
pub const META_LABEL_SELECTOR_REQUIREMENT: &[F] = &[
    F::new(1, "key", T::Str, 0),
    F::new(2, "operator", T::Str, 0),
    F::new(3, "values", T::Str, REP),
];

/// `LabelSelector`
pub const META_LABEL_SELECTOR: &[F] = &[
    F::new(1, "matchLabels", T::MapStr, 0),
    F::new(2, "matchExpressions", T::Msg(META_LABEL_SELECTOR_REQUIREMENT), REP),
];

/// `ClusterTrustBundleProjection`
pub const CORE_CLUSTER_TRUST_BUNDLE_PROJECTION: &[F] = &[
    F::new(1, "name", T::Str, PTR),
    F::new(2, "signerName", T::Str, PTR),
    F::new(3, "labelSelector", T::Msg(META_LABEL_SELECTOR), PTR),
    F::new(5, "optional", T::Bool, PTR),
    F::new(4, "path", T::Str, 0),
];

/// `VolumeProjection`
pub const CORE_VOLUME_PROJECTION: &[F] = &[
    F::new(1, "secret", T::Msg(CORE_SECRET_PROJECTION), PTR),
    F::new(2, "downwardAPI", T::Msg(CORE_DOWNWARD_A_P_I_PROJECTION), PTR),
    F::new(3, "configMap", T::Msg(CORE_CONFIG_MAP_PROJECTION), PTR),
    F::new(4, "serviceAccountToken", T::Msg(CORE_SERVICE_ACCOUNT_TOKEN_PROJECTION), PTR),
    F::new(5, "clusterTrustBundle", T::Msg(CORE_CLUSTER_TRUST_BUNDLE_PROJECTION), PTR),
];

/// `ProjectedVolumeSource`
pub const CORE_PROJECTED_VOLUME_SOURCE: &[F] = &[
    F::new(1, "sources", T::Msg(CORE_VOLUME_PROJECTION), REP),
    F::new(2, "defaultMode", T::I32, PTR),
];

/// `PortworxVolumeSource`
pub const CORE_PORTWORX_VOLUME_SOURCE: &[F] = &[
    F::new(1, "volumeID", T::Str, 0),
    F::new(2, "fsType", T::Str, 0),
    F::new(3, "readOnly", T::Bool, 0),
];

/// `ScaleIOVolumeSource`
pub const CORE_SCALE_I_O_VOLUME_SOURCE: &[F] = &[
    F::new(1, "gateway", T::Str, 0),
    F::new(2, "system", T::Str, 0),
    F::new(3, "secretRef", T::Msg(CORE_LOCAL_OBJECT_REFERENCE), PTR),
    F::new(4, "sslEnabled", T::Bool, 0),
    F::new(5, "protectionDomain", T::Str, 0),
    F::new(6, "storagePool", T::Str, 0),
    F::new(7, "storageMode", T::Str, 0),
    F::new(8, "volumeName", T::Str, 0),
    F::new(9, "fsType", T::Str, 0),
    F::new(10, "readOnly", T::Bool, 0),
];

/// `StorageOSVolumeSource`
pub const CORE_STORAGE_O_S_VOLUME_SOURCE: &[F] = &[
    F::new(1, "volumeName", T::Str, 0),
    F::new(2, "volumeNamespace", T::Str, 0),
    F::new(3, "fsType", T::Str, 0),
    F::new(4, "readOnly", T::Bool, 0),
    F::new(5, "secretRef", T::Msg(CORE_LOCAL_OBJECT_REFERENCE), PTR),
];

/// `CSIVolumeSource`
pub const CORE_C_S_I_VOLUME_SOURCE: &[F] = &[
    F::new(1, "driver", T::Str, 0),
    F::new(2, "readOnly", T::Bool, PTR),
    F::new(3, "fsType", T::Str, PTR),
    F::new(4, "volumeAttributes", T::MapStr, 0),
    F::new(5, "nodePublishSecretRef", T::Msg(CORE_LOCAL_OBJECT_REFERENCE), PTR),
];

/// `VolumeResourceRequirements`
pub const CORE_VOLUME_RESOURCE_REQUIREMENTS: &[F] = &[
    F::new(1, "limits", T::MapQuantity, 0),
    F::new(2, "requests", T::MapQuantity, 0),
];

/// `TypedLocalObjectReference`
pub const CORE_TYPED_LOCAL_OBJECT_REFERENCE: &[F] = &[
    F::new(1, "apiGroup", T::Str, PTR),
    F::new(2, "kind", T::Str, 0),
    F::new(3, "name", T::Str, 0),
];

/// `TypedObjectReference`
pub const CORE_TYPED_OBJECT_REFERENCE: &[F] = &[
    F::new(1, "apiGroup", T::Str, PTR),
    F::new(2, "kind", T::Str, 0),
    F::new(3, "name", T::Str, 0),
    F::new(4, "namespace", T::Str, PTR),
];

/// `PersistentVolumeClaimSpec`
pub const CORE_PERSISTENT_VOLUME_CLAIM_SPEC: &[F] = &[
    F::new(1, "accessModes", T::Str, REP),
    F::new(4, "selector", T::Msg(META_LABEL_SELECTOR), PTR),
    F::new(2, "resources", T::Msg(CORE_VOLUME_RESOURCE_REQUIREMENTS), 0),
    F::new(3, "volumeName", T::Str, 0),
    F::new(5, "storageClassName", T::Str, PTR),
    F::new(6, "volumeMode", T::Str, PTR),
    F::new(7, "dataSource", T::Msg(CORE_TYPED_LOCAL_OBJECT_REFERENCE), PTR),
    F::new(8, "dataSourceRef", T::Msg(CORE_TYPED_OBJECT_REFERENCE), PTR),
    F::new(9, "volumeAttributesClassName", T::Str, PTR),
];

/// `PersistentVolumeClaimTemplate`
pub const CORE_PERSISTENT_VOLUME_CLAIM_TEMPLATE: &[F] = &[
    F::new(1, "metadata", T::Msg(META_OBJECT_META), 0),
    F::new(2, "spec", T::Msg(CORE_PERSISTENT_VOLUME_CLAIM_SPEC), 0),
];

/// `EphemeralVolumeSource`
pub const CORE_EPHEMERAL_VOLUME_SOURCE: &[F] = &[
    F::new(1, "volumeClaimTemplate", T::Msg(CORE_PERSISTENT_VOLUME_CLAIM_TEMPLATE), PTR),
];

/// `ImageVolumeSource`
pub const CORE_IMAGE_VOLUME_SOURCE: &[F] = &[
    F::new(1, "reference", T::Str, 0),
    F::new(2, "pullPolicy", T::Str, 0),
];

/// `VolumeSource`
pub const CORE_VOLUME_SOURCE: &[F] = &[
    F::new(1, "hostPath", T::Msg(CORE_HOST_PATH_VOLUME_SOURCE), PTR),
    F::new(2, "emptyDir", T::Msg(CORE_EMPTY_DIR_VOLUME_SOURCE), PTR),
    F::new(3, "gcePersistentDisk", T::Msg(CORE_G_C_E_PERSISTENT_DISK_VOLUME_SOURCE), PTR),
    F::new(4, "awsElasticBlockStore", T::Msg(CORE_A_W_S_ELASTIC_BLOCK_STORE_VOLUME_SOURCE), PTR),
    F::new(5, "gitRepo", T::Msg(CORE_GIT_REPO_VOLUME_SOURCE), PTR),
    F::new(6, "secret", T::Msg(CORE_SECRET_VOLUME_SOURCE), PTR),
    F::new(7, "nfs", T::Msg(CORE_N_F_S_VOLUME_SOURCE), PTR),
    F::new(8, "iscsi", T::Msg(CORE_I_S_C_S_I_VOLUME_SOURCE), PTR),
    F::new(9, "glusterfs", T::Msg(CORE_GLUSTERFS_VOLUME_SOURCE), PTR),
    F::new(10, "persistentVolumeClaim", T::Msg(CORE_PERSISTENT_VOLUME_CLAIM_VOLUME_SOURCE), PTR),
    F::new(11, "rbd", T::Msg(CORE_R_B_D_VOLUME_SOURCE), PTR),
    F::new(12, "flexVolume", T::Msg(CORE_FLEX_VOLUME_SOURCE), PTR),
    F::new(13, "cinder", T::Msg(CORE_CINDER_VOLUME_SOURCE), PTR),
    F::new(14, "cephfs", T::Msg(CORE_CEPH_F_S_VOLUME_SOURCE), PTR),
    F::new(15, "flocker", T::Msg(CORE_FLOCKER_VOLUME_SOURCE), PTR),
    F::new(16, "downwardAPI", T::Msg(CORE_DOWNWARD_A_P_I_VOLUME_SOURCE), PTR),
    F::new(17, "fc", T::Msg(CORE_F_C_VOLUME_SOURCE), PTR),
    F::new(18, "azureFile", T::Msg(CORE_AZURE_FILE_VOLUME_SOURCE), PTR),
    F::new(19, "configMap", T::Msg(CORE_CONFIG_MAP_VOLUME_SOURCE), PTR),
    F::new(20, "vsphereVolume", T::Msg(CORE_VSPHERE_VIRTUAL_DISK_VOLUME_SOURCE), PTR),
    F::new(21, "quobyte", T::Msg(CORE_QUOBYTE_VOLUME_SOURCE), PTR),
    F::new(22, "azureDisk", T::Msg(CORE_AZURE_DISK_VOLUME_SOURCE), PTR),
    F::new(23, "photonPersistentDisk", T::Msg(CORE_PHOTON_PERSISTENT_DISK_VOLUME_SOURCE), PTR),
    F::new(26, "projected", T::Msg(CORE_PROJECTED_VOLUME_SOURCE), PTR),
    F::new(24, "portworxVolume", T::Msg(CORE_PORTWORX_VOLUME_SOURCE), PTR),
    F::new(25, "scaleIO", T::Msg(CORE_SCALE_I_O_VOLUME_SOURCE), PTR),
    F::new(27, "storageos", T::Msg(CORE_STORAGE_O_S_VOLUME_SOURCE), PTR),
    F::new(28, "csi", T::Msg(CORE_C_S_I_VOLUME_SOURCE), PTR),
    F::new(29, "ephemeral", T::Msg(CORE_EPHEMERAL_VOLUME_SOURCE), PTR),
    F::new(30, "image", T::Msg(CORE_IMAGE_VOLUME_SOURCE), PTR),
];

/// `Volume`
pub const CORE_VOLUME: &[F] = &[
    F::new(1, "name", T::Str, 0),
    F::new(2, "volumeSource", T::Msg(CORE_VOLUME_SOURCE), INLINE),
];

/// `ContainerPort`
pub const CORE_CONTAINER_PORT: &[F] = &[
    F::new(1, "name", T::Str, 0),
    F::new(2, "hostPort", T::I32, 0),
    F::new(3, "containerPort", T::I32, 0),
    F::new(4, "protocol", T::Str, 0),
    F::new(5, "hostIP", T::Str, 0),
];

/// `ConfigMapEnvSource`
pub const CORE_CONFIG_MAP_ENV_SOURCE: &[F] = &[
    F::new(1, "localObjectReference", T::Msg(CORE_LOCAL_OBJECT_REFERENCE), INLINE),
    F::new(2, "optional", T::Bool, PTR),
];

/// `SecretEnvSource`
pub const CORE_SECRET_ENV_SOURCE: &[F] = &[
    F::new(1, "localObjectReference", T::Msg(CORE_LOCAL_OBJECT_REFERENCE), INLINE),
    F::new(2, "optional", T::Bool, PTR),
];

/// `EnvFromSource`
pub const CORE_ENV_FROM_SOURCE: &[F] = &[
    F::new(1, "prefix", T::Str, 0),
    F::new(2, "configMapRef", T::Msg(CORE_CONFIG_MAP_ENV_SOURCE), PTR),
    F::new(3, "secretRef", T::Msg(CORE_SECRET_ENV_SOURCE), PTR),
];

/// `ConfigMapKeySelector`
pub const CORE_CONFIG_MAP_KEY_SELECTOR: &[F] = &[
    F::new(1, "localObjectReference", T::Msg(CORE_LOCAL_OBJECT_REFERENCE), INLINE),
    F::new(2, "key", T::Str, 0),
    F::new(3, "optional", T::Bool, PTR),
];

/// `SecretKeySelector`
pub const CORE_SECRET_KEY_SELECTOR: &[F] = &[
    F::new(1, "localObjectReference", T::Msg(CORE_LOCAL_OBJECT_REFERENCE), INLINE),
    F::new(2, "key", T::Str, 0),
    F::new(3, "optional", T::Bool, PTR),
];

/// `EnvVarSource`
pub const CORE_ENV_VAR_SOURCE: &[F] = &[
    F::new(1, "fieldRef", T::Msg(CORE_OBJECT_FIELD_SELECTOR), PTR),
    F::new(2, "resourceFieldRef", T::Msg(CORE_RESOURCE_FIELD_SELECTOR), PTR),
    F::new(3, "configMapKeyRef", T::Msg(CORE_CONFIG_MAP_KEY_SELECTOR), PTR),
    F::new(4, "secretKeyRef", T::Msg(CORE_SECRET_KEY_SELECTOR), PTR),
];

/// `EnvVar`
pub const CORE_ENV_VAR: &[F] = &[
    F::new(1, "name", T::Str, 0),
    F::new(2, "value", T::Str, 0),
    F::new(3, "valueFrom", T::Msg(CORE_ENV_VAR_SOURCE), PTR),
];

/// `ResourceClaim`
pub const CORE_RESOURCE_CLAIM: &[F] = &[
    F::new(1, "name", T::Str, 0),
    F::new(2, "request", T::Str, 0),
];

/// `ResourceRequirements`
pub const CORE_RESOURCE_REQUIREMENTS: &[F] = &[
    F::new(1, "limits", T::MapQuantity, 0),
    F::new(2, "requests", T::MapQuantity, 0),
    F::new(3, "claims", T::Msg(CORE_RESOURCE_CLAIM), REP),
];

/// `ContainerResizePolicy`
pub const CORE_CONTAINER_RESIZE_POLICY: &[F] = &[
    F::new(1, "resourceName", T::Str, 0),
    F::new(2, "restartPolicy", T::Str, 0),
];

/// `VolumeMount`
pub const CORE_VOLUME_MOUNT: &[F] = &[
    F::new(1, "name", T::Str, 0),
    F::new(2, "readOnly", T::Bool, 0),
    F::new(7, "recursiveReadOnly", T::Str, PTR),
    F::new(3, "mountPath", T::Str, 0),
    F::new(4, "subPath", T::Str, 0),
    F::new(5, "mountPropagation", T::Str, PTR),
    F::new(6, "subPathExpr", T::Str, 0),
];

/// `VolumeDevice`
pub const CORE_VOLUME_DEVICE: &[F] = &[
    F::new(1, "name", T::Str, 0),
    F::new(2, "devicePath", T::Str, 0),
];

/// `ExecAction`
pub const CORE_EXEC_ACTION: &[F] = &[
    F::new(1, "command", T::Str, REP),
];

/// `HTTPHeader`
pub const CORE_H_T_T_P_HEADER: &[F] = &[
    F::new(1, "name", T::Str, 0),
    F::new(2, "value", T::Str, 0),
];

/// `HTTPGetAction`
pub const CORE_H_T_T_P_GET_ACTION: &[F] = &[
    F::new(1, "path", T::Str, 0),
    F::new(2, "port", T::IntOrString, 0),
    F::new(3, "host", T::Str, 0),
    F::new(4, "scheme", T::Str, 0),
    F::new(5, "httpHeaders", T::Msg(CORE_H_T_T_P_HEADER), REP),
];

/// `TCPSocketAction`
pub const CORE_T_C_P_SOCKET_ACTION: &[F] = &[
    F::new(1, "port", T::IntOrString, 0),
    F::new(2, "host", T::Str, 0),
];

/// `GRPCAction`
pub const CORE_G_R_P_C_ACTION: &[F] = &[
    F::new(1, "port", T::I32, 0),
    F::new(2, "service", T::Str, PTR),
];

/// `ProbeHandler`
pub const CORE_PROBE_HANDLER: &[F] = &[
    F::new(1, "exec", T::Msg(CORE_EXEC_ACTION), PTR),
    F::new(2, "httpGet", T::Msg(CORE_H_T_T_P_GET_ACTION), PTR),
    F::new(3, "tcpSocket", T::Msg(CORE_T_C_P_SOCKET_ACTION), PTR),
    F::new(4, "grpc", T::Msg(CORE_G_R_P_C_ACTION), PTR),
];

/// `Probe`
pub const CORE_PROBE: &[F] = &[
    F::new(1, "handler", T::Msg(CORE_PROBE_HANDLER), INLINE),
    F::new(2, "initialDelaySeconds", T::I32, 0),
    F::new(3, "timeoutSeconds", T::I32, 0),
    F::new(4, "periodSeconds", T::I32, 0),
    F::new(5, "successThreshold", T::I32, 0),
    F::new(6, "failureThreshold", T::I32, 0),
    F::new(7, "terminationGracePeriodSeconds", T::I64, PTR),
];

/// `SleepAction`
pub const CORE_SLEEP_ACTION: &[F] = &[
    F::new(1, "seconds", T::I64, 0),
];

/// `LifecycleHandler`
pub const CORE_LIFECYCLE_HANDLER: &[F] = &[
    F::new(1, "exec", T::Msg(CORE_EXEC_ACTION), PTR),
    F::new(2, "httpGet", T::Msg(CORE_H_T_T_P_GET_ACTION), PTR),
    F::new(3, "tcpSocket", T::Msg(CORE_T_C_P_SOCKET_ACTION), PTR),
    F::new(4, "sleep", T::Msg(CORE_SLEEP_ACTION), PTR),
];

/// `Lifecycle`
pub const CORE_LIFECYCLE: &[F] = &[
    F::new(1, "postStart", T::Msg(CORE_LIFECYCLE_HANDLER), PTR),
    F::new(2, "preStop", T::Msg(CORE_LIFECYCLE_HANDLER), PTR),
];

/// `Capabilities`
pub const CORE_CAPABILITIES: &[F] = &[
    F::new(1, "add", T::Str, REP),
    F::new(2, "drop", T::Str, REP),
];

/// `SELinuxOptions`
pub const CORE_S_E_LINUX_OPTIONS: &[F] = &[
    F::new(1, "user", T::Str, 0),
    F::new(2, "role", T::Str, 0),
    F::new(3, "type", T::Str, 0),
    F::new(4, "level", T::Str, 0),
];

/// `WindowsSecurityContextOptions`
pub const CORE_WINDOWS_SECURITY_CONTEXT_OPTIONS: &[F] = &[
    F::new(1, "gmsaCredentialSpecName", T::Str, PTR),
    F::new(2, "gmsaCredentialSpec", T::Str, PTR),
    F::new(3, "runAsUserName", T::Str, PTR),
    F::new(4, "hostProcess", T::Bool, PTR),
];

/// `SeccompProfile`
pub const CORE_SECCOMP_PROFILE: &[F] = &[
    F::new(1, "type", T::Str, 0),
    F::new(2, "localhostProfile", T::Str, PTR),
];

/// `AppArmorProfile`
pub const CORE_APP_ARMOR_PROFILE: &[F] = &[
    F::new(1, "type", T::Str, 0),
    F::new(2, "localhostProfile", T::Str, PTR),
];

/// `SecurityContext`
pub const CORE_SECURITY_CONTEXT: &[F] = &[
    F::new(1, "capabilities", T::Msg(CORE_CAPABILITIES), PTR),
    F::new(2, "privileged", T::Bool, PTR),
    F::new(3, "seLinuxOptions", T::Msg(CORE_S_E_LINUX_OPTIONS), PTR),
    F::new(10, "windowsOptions", T::Msg(CORE_WINDOWS_SECURITY_CONTEXT_OPTIONS), PTR),
    F::new(4, "runAsUser", T::I64, PTR),
    F::new(8, "runAsGroup", T::I64, PTR),
    F::new(5, "runAsNonRoot", T::Bool, PTR),
    F::new(6, "readOnlyRootFilesystem", T::Bool, PTR),
    F::new(7, "allowPrivilegeEscalation", T::Bool, PTR),
    F::new(9, "procMount", T::Str, PTR),
    F::new(11, "seccompProfile", T::Msg(CORE_SECCOMP_PROFILE), PTR),
    F::new(12, "appArmorProfile", T::Msg(CORE_APP_ARMOR_PROFILE), PTR),
];

/// `Container`
pub const CORE_CONTAINER: &[F] = &[
    F::new(1, "name", T::Str, 0),
    F::new(2, "image", T::Str, 0),
    F::new(3, "command", T::Str, REP),
    F::new(4, "args", T::Str, REP),
    F::new(5, "workingDir", T::Str, 0),
    F::new(6, "ports", T::Msg(CORE_CONTAINER_PORT), REP),
    F::new(19, "envFrom", T::Msg(CORE_ENV_FROM_SOURCE), REP),
    F::new(7, "env", T::Msg(CORE_ENV_VAR), REP),
    F::new(8, "resources", T::Msg(CORE_RESOURCE_REQUIREMENTS), 0),
    F::new(23, "resizePolicy", T::Msg(CORE_CONTAINER_RESIZE_POLICY), REP),
    F::new(24, "restartPolicy", T::Str, PTR),
    F::new(9, "volumeMounts", T::Msg(CORE_VOLUME_MOUNT), REP),
    F::new(21, "volumeDevices", T::Msg(CORE_VOLUME_DEVICE), REP),
    F::new(10, "livenessProbe", T::Msg(CORE_PROBE), PTR),
    F::new(11, "readinessProbe", T::Msg(CORE_PROBE), PTR),
    F::new(22, "startupProbe", T::Msg(CORE_PROBE), PTR),
    F::new(12, "lifecycle", T::Msg(CORE_LIFECYCLE), PTR),
    F::new(13, "terminationMessagePath", T::Str, 0),
    F::new(20, "terminationMessagePolicy", T::Str, 0),
    F::new(14, "imagePullPolicy", T::Str, 0),
    F::new(15, "securityContext", T::Msg(CORE_SECURITY_CONTEXT), PTR),
    F::new(16, "stdin", T::Bool, 0),
    F::new(17, "stdinOnce", T::Bool, 0),
    F::new(18, "tty", T::Bool, 0),
];

/// `EphemeralContainerCommon`
pub const CORE_EPHEMERAL_CONTAINER_COMMON: &[F] = &[
    F::new(1, "name", T::Str, 0),
    F::new(2, "image", T::Str, 0),
    F::new(3, "command", T::Str, REP),
    F::new(4, "args", T::Str, REP),
    F::new(5, "workingDir", T::Str, 0),
    F::new(6, "ports", T::Msg(CORE_CONTAINER_PORT), REP),
    F::new(19, "envFrom", T::Msg(CORE_ENV_FROM_SOURCE), REP),
    F::new(7, "env", T::Msg(CORE_ENV_VAR), REP),
    F::new(8, "resources", T::Msg(CORE_RESOURCE_REQUIREMENTS), 0),
    F::new(23, "resizePolicy", T::Msg(CORE_CONTAINER_RESIZE_POLICY), REP),
    F::new(24, "restartPolicy", T::Str, PTR),
    F::new(9, "volumeMounts", T::Msg(CORE_VOLUME_MOUNT), REP),
    F::new(21, "volumeDevices", T::Msg(CORE_VOLUME_DEVICE), REP),
    F::new(10, "livenessProbe", T::Msg(CORE_PROBE), PTR),
    F::new(11, "readinessProbe", T::Msg(CORE_PROBE), PTR),
    F::new(22, "startupProbe", T::Msg(CORE_PROBE), PTR),
    F::new(12, "lifecycle", T::Msg(CORE_LIFECYCLE), PTR),
    F::new(13, "terminationMessagePath", T::Str, 0),
    F::new(20, "terminationMessagePolicy", T::Str, 0),
    F::new(14, "imagePullPolicy", T::Str, 0),
    F::new(15, "securityContext", T::Msg(CORE_SECURITY_CONTEXT), PTR),
    F::new(16, "stdin", T::Bool, 0),
    F::new(17, "stdinOnce", T::Bool, 0),
    F::new(18, "tty", T::Bool, 0),
];

/// `EphemeralContainer`
pub const CORE_EPHEMERAL_CONTAINER: &[F] = &[
    F::new(1, "ephemeralContainerCommon", T::Msg(CORE_EPHEMERAL_CONTAINER_COMMON), 0),
    F::new(2, "targetContainerName", T::Str, 0),
];

/// `Sysctl`
pub const CORE_SYSCTL: &[F] = &[
    F::new(1, "name", T::Str, 0),
    F::new(2, "value", T::Str, 0),
];

/// `PodSecurityContext`
pub const CORE_POD_SECURITY_CONTEXT: &[F] = &[
    F::new(1, "seLinuxOptions", T::Msg(CORE_S_E_LINUX_OPTIONS), PTR),
    F::new(8, "windowsOptions", T::Msg(CORE_WINDOWS_SECURITY_CONTEXT_OPTIONS), PTR),
    F::new(2, "runAsUser", T::I64, PTR),
    F::new(6, "runAsGroup", T::I64, PTR),
    F::new(3, "runAsNonRoot", T::Bool, PTR),
    F::new(4, "supplementalGroups", T::I64, REP),
    F::new(12, "supplementalGroupsPolicy", T::Str, PTR),
    F::new(5, "fsGroup", T::I64, PTR),
    F::new(7, "sysctls", T::Msg(CORE_SYSCTL), REP),
    F::new(9, "fsGroupChangePolicy", T::Str, PTR),
    F::new(10, "seccompProfile", T::Msg(CORE_SECCOMP_PROFILE), PTR),
    F::new(11, "appArmorProfile", T::Msg(CORE_APP_ARMOR_PROFILE), PTR),
    F::new(13, "seLinuxChangePolicy", T::Str, PTR),
];

/// `NodeSelectorRequirement`
pub const CORE_NODE_SELECTOR_REQUIREMENT: &[F] = &[
    F::new(1, "key", T::Str, 0),
    F::new(2, "operator", T::Str, 0),
    F::new(3, "values", T::Str, REP),
];

/// `NodeSelectorTerm`
pub const CORE_NODE_SELECTOR_TERM: &[F] = &[
    F::new(1, "matchExpressions", T::Msg(CORE_NODE_SELECTOR_REQUIREMENT), REP),
    F::new(2, "matchFields", T::Msg(CORE_NODE_SELECTOR_REQUIREMENT), REP),
];

/// `NodeSelector`
pub const CORE_NODE_SELECTOR: &[F] = &[
    F::new(1, "nodeSelectorTerms", T::Msg(CORE_NODE_SELECTOR_TERM), REP),
];

/// `PreferredSchedulingTerm`
pub const CORE_PREFERRED_SCHEDULING_TERM: &[F] = &[
    F::new(1, "weight", T::I32, 0),
    F::new(2, "preference", T::Msg(CORE_NODE_SELECTOR_TERM), 0),
];

/// `NodeAffinity`
pub const CORE_NODE_AFFINITY: &[F] = &[
    F::new(1, "requiredDuringSchedulingIgnoredDuringExecution", T::Msg(CORE_NODE_SELECTOR), PTR),
    F::new(2, "preferredDuringSchedulingIgnoredDuringExecution", T::Msg(CORE_PREFERRED_SCHEDULING_TERM), REP),
];

/// `PodAffinityTerm`
pub const CORE_POD_AFFINITY_TERM: &[F] = &[
    F::new(1, "labelSelector", T::Msg(META_LABEL_SELECTOR), PTR),
    F::new(2, "namespaces", T::Str, REP),
    F::new(3, "topologyKey", T::Str, 0),
    F::new(4, "namespaceSelector", T::Msg(META_LABEL_SELECTOR), PTR),
    F::new(5, "matchLabelKeys", T::Str, REP),
    F::new(6, "mismatchLabelKeys", T::Str, REP),
];

/// `WeightedPodAffinityTerm`
pub const CORE_WEIGHTED_POD_AFFINITY_TERM: &[F] = &[
    F::new(1, "weight", T::I32, 0),
    F::new(2, "podAffinityTerm", T::Msg(CORE_POD_AFFINITY_TERM), 0),
];

/// `PodAffinity`
pub const CORE_POD_AFFINITY: &[F] = &[
    F::new(1, "requiredDuringSchedulingIgnoredDuringExecution", T::Msg(CORE_POD_AFFINITY_TERM), REP),
    F::new(2, "preferredDuringSchedulingIgnoredDuringExecution", T::Msg(CORE_WEIGHTED_POD_AFFINITY_TERM), REP),
];

/// `PodAntiAffinity`
pub const CORE_POD_ANTI_AFFINITY: &[F] = &[
    F::new(1, "requiredDuringSchedulingIgnoredDuringExecution", T::Msg(CORE_POD_AFFINITY_TERM), REP),
    F::new(2, "preferredDuringSchedulingIgnoredDuringExecution", T::Msg(CORE_WEIGHTED_POD_AFFINITY_TERM), REP),
];

/// `Affinity`
pub const CORE_AFFINITY: &[F] = &[
    F::new(1, "nodeAffinity", T::Msg(CORE_NODE_AFFINITY), PTR),
    F::new(2, "podAffinity", T::Msg(CORE_POD_AFFINITY), PTR),
    F::new(3, "podAntiAffinity", T::Msg(CORE_POD_ANTI_AFFINITY), PTR),
];

/// `Toleration`
pub const CORE_TOLERATION: &[F] = &[
    F::new(1, "key", T::Str, 0),
    F::new(2, "operator", T::Str, 0),
    F::new(3, "value", T::Str, 0),
    F::new(4, "effect", T::Str, 0),
    F::new(5, "tolerationSeconds", T::I64, PTR),
];

/// `HostAlias`
pub const CORE_HOST_ALIAS: &[F] = &[
    F::new(1, "ip", T::Str, 0),
    F::new(2, "hostnames", T::Str, REP),
];

/// `PodDNSConfigOption`
pub const CORE_POD_D_N_S_CONFIG_OPTION: &[F] = &[
    F::new(1, "name", T::Str, 0),
    F::new(2, "value", T::Str, PTR),
];

/// `PodDNSConfig`
pub const CORE_POD_D_N_S_CONFIG: &[F] = &[
    F::new(1, "nameservers", T::Str, REP),
    F::new(2, "searches", T::Str, REP),
    F::new(3, "options", T::Msg(CORE_POD_D_N_S_CONFIG_OPTION), REP),
];

/// `PodReadinessGate`
pub const CORE_POD_READINESS_GATE: &[F] = &[
    F::new(1, "conditionType", T::Str, 0),
];

/// `TopologySpreadConstraint`
pub const CORE_TOPOLOGY_SPREAD_CONSTRAINT: &[F] = &[
    F::new(1, "maxSkew", T::I32, 0),
    F::new(2, "topologyKey", T::Str, 0),
    F::new(3, "whenUnsatisfiable", T::Str, 0),
    F::new(4, "labelSelector", T::Msg(META_LABEL_SELECTOR), PTR),
    F::new(5, "minDomains", T::I32, PTR),
    F::new(6, "nodeAffinityPolicy", T::Str, PTR),
    F::new(7, "nodeTaintsPolicy", T::Str, PTR),
    F::new(8, "matchLabelKeys", T::Str, REP),
];

/// `PodOS`
pub const CORE_POD_O_S: &[F] = &[
    F::new(1, "name", T::Str, 0),
];

/// `PodSchedulingGate`
pub const CORE_POD_SCHEDULING_GATE: &[F] = &[
    F::new(1, "name", T::Str, 0),
];

/// `PodResourceClaim`
pub const CORE_POD_RESOURCE_CLAIM: &[F] = &[
    F::new(1, "name", T::Str, 0),
    F::new(3, "resourceClaimName", T::Str, PTR),
    F::new(4, "resourceClaimTemplateName", T::Str, PTR),
];

/// `PodSpec`
pub const CORE_POD_SPEC: &[F] = &[
    F::new(1, "volumes", T::Msg(CORE_VOLUME), REP),
    F::new(20, "initContainers", T::Msg(CORE_CONTAINER), REP),
    F::new(2, "containers", T::Msg(CORE_CONTAINER), REP),
    F::new(34, "ephemeralContainers", T::Msg(CORE_EPHEMERAL_CONTAINER), REP),
    F::new(3, "restartPolicy", T::Str, 0),
    F::new(4, "terminationGracePeriodSeconds", T::I64, PTR),
    F::new(5, "activeDeadlineSeconds", T::I64, PTR),
    F::new(6, "dnsPolicy", T::Str, 0),
    F::new(7, "nodeSelector", T::MapStr, 0),
    F::new(8, "serviceAccountName", T::Str, 0),
    F::new(9, "serviceAccount", T::Str, 0),
    F::new(21, "automountServiceAccountToken", T::Bool, PTR),
    F::new(10, "nodeName", T::Str, 0),
    F::new(11, "hostNetwork", T::Bool, 0),
    F::new(12, "hostPID", T::Bool, 0),
    F::new(13, "hostIPC", T::Bool, 0),
    F::new(27, "shareProcessNamespace", T::Bool, PTR),
    F::new(14, "securityContext", T::Msg(CORE_POD_SECURITY_CONTEXT), PTR),
    F::new(15, "imagePullSecrets", T::Msg(CORE_LOCAL_OBJECT_REFERENCE), REP),
    F::new(16, "hostname", T::Str, 0),
    F::new(17, "subdomain", T::Str, 0),
    F::new(18, "affinity", T::Msg(CORE_AFFINITY), PTR),
    F::new(19, "schedulerName", T::Str, 0),
    F::new(22, "tolerations", T::Msg(CORE_TOLERATION), REP),
    F::new(23, "hostAliases", T::Msg(CORE_HOST_ALIAS), REP),
    F::new(24, "priorityClassName", T::Str, 0),
    F::new(25, "priority", T::I32, PTR),
    F::new(26, "dnsConfig", T::Msg(CORE_POD_D_N_S_CONFIG), PTR),
    F::new(28, "readinessGates", T::Msg(CORE_POD_READINESS_GATE), REP),
    F::new(29, "runtimeClassName", T::Str, PTR),
    F::new(30, "enableServiceLinks", T::Bool, PTR),
    F::new(31, "preemptionPolicy", T::Str, PTR),
    F::new(32, "overhead", T::MapQuantity, 0),
    F::new(33, "topologySpreadConstraints", T::Msg(CORE_TOPOLOGY_SPREAD_CONSTRAINT), REP),
    F::new(35, "setHostnameAsFQDN", T::Bool, PTR),
    F::new(36, "os", T::Msg(CORE_POD_O_S), PTR),
    F::new(37, "hostUsers", T::Bool, PTR),
    F::new(38, "schedulingGates", T::Msg(CORE_POD_SCHEDULING_GATE), REP),
    F::new(39, "resourceClaims", T::Msg(CORE_POD_RESOURCE_CLAIM), REP),
    F::new(40, "resources", T::Msg(CORE_RESOURCE_REQUIREMENTS), PTR),
];

/// `PodCondition`
pub const CORE_POD_CONDITION: &[F] = &[
    F::new(1, "type", T::Str, 0),
    F::new(2, "status", T::Str, 0),
    F::new(3, "lastProbeTime", T::Time, 0),
    F::new(4, "lastTransitionTime", T::Time, 0),
    F::new(5, "reason", T::Str, 0),
    F::new(6, "message", T::Str, 0),
];

/// `HostIP`
pub const CORE_HOST_I_P: &[F] = &[
    F::new(1, "ip", T::Str, 0),
];

/// `PodIP`
pub const CORE_POD_I_P: &[F] = &[
    F::new(1, "ip", T::Str, 0),
];

/// `ContainerStateWaiting`
pub const CORE_CONTAINER_STATE_WAITING: &[F] = &[
    F::new(1, "reason", T::Str, 0),
    F::new(2, "message", T::Str, 0),
];

/// `ContainerStateRunning`
pub const CORE_CONTAINER_STATE_RUNNING: &[F] = &[
    F::new(1, "startedAt", T::Time, 0),
];

/// `ContainerStateTerminated`
pub const CORE_CONTAINER_STATE_TERMINATED: &[F] = &[
    F::new(1, "exitCode", T::I32, 0),
    F::new(2, "signal", T::I32, 0),
    F::new(3, "reason", T::Str, 0),
    F::new(4, "message", T::Str, 0),
    F::new(5, "startedAt", T::Time, 0),
    F::new(6, "finishedAt", T::Time, 0),
    F::new(7, "containerID", T::Str, 0),
];

/// `ContainerState`
pub const CORE_CONTAINER_STATE: &[F] = &[
    F::new(1, "waiting", T::Msg(CORE_CONTAINER_STATE_WAITING), PTR),
    F::new(2, "running", T::Msg(CORE_CONTAINER_STATE_RUNNING), PTR),
    F::new(3, "terminated", T::Msg(CORE_CONTAINER_STATE_TERMINATED), PTR),
];

/// `VolumeMountStatus`
pub const CORE_VOLUME_MOUNT_STATUS: &[F] = &[
    F::new(1, "name", T::Str, 0),
    F::new(2, "mountPath", T::Str, 0),
    F::new(3, "readOnly", T::Bool, 0),
    F::new(4, "recursiveReadOnly", T::Str, PTR),
];

/// `LinuxContainerUser`
pub const CORE_LINUX_CONTAINER_USER: &[F] = &[
    F::new(1, "uid", T::I64, 0),
    F::new(2, "gid", T::I64, 0),
    F::new(3, "supplementalGroups", T::I64, REP),
];

/// `ContainerUser`
pub const CORE_CONTAINER_USER: &[F] = &[
    F::new(1, "linux", T::Msg(CORE_LINUX_CONTAINER_USER), PTR),
];

/// `ResourceHealth`
pub const CORE_RESOURCE_HEALTH: &[F] = &[
    F::new(1, "resourceID", T::Str, 0),
    F::new(2, "health", T::Str, 0),
];

/// `ResourceStatus`
pub const CORE_RESOURCE_STATUS: &[F] = &[
    F::new(1, "name", T::Str, 0),
    F::new(2, "resources", T::Msg(CORE_RESOURCE_HEALTH), REP),
];

/// `ContainerStatus`
pub const CORE_CONTAINER_STATUS: &[F] = &[
    F::new(1, "name", T::Str, 0),
    F::new(2, "state", T::Msg(CORE_CONTAINER_STATE), 0),
    F::new(3, "lastState", T::Msg(CORE_CONTAINER_STATE), 0),
    F::new(4, "ready", T::Bool, 0),
    F::new(5, "restartCount", T::I32, 0),
    F::new(6, "image", T::Str, 0),
    F::new(7, "imageID", T::Str, 0),
    F::new(8, "containerID", T::Str, 0),
    F::new(9, "started", T::Bool, PTR),
    F::new(10, "allocatedResources", T::MapQuantity, 0),
    F::new(11, "resources", T::Msg(CORE_RESOURCE_REQUIREMENTS), PTR),
    F::new(12, "volumeMounts", T::Msg(CORE_VOLUME_MOUNT_STATUS), REP),
    F::new(13, "user", T::Msg(CORE_CONTAINER_USER), PTR),
    F::new(14, "allocatedResourcesStatus", T::Msg(CORE_RESOURCE_STATUS), REP),
];

/// `PodResourceClaimStatus`
pub const CORE_POD_RESOURCE_CLAIM_STATUS: &[F] = &[
    F::new(1, "name", T::Str, 0),
    F::new(2, "resourceClaimName", T::Str, PTR),
];

/// `PodStatus`
pub const CORE_POD_STATUS: &[F] = &[
    F::new(1, "phase", T::Str, 0),
    F::new(2, "conditions", T::Msg(CORE_POD_CONDITION), REP),
    F::new(3, "message", T::Str, 0),
    F::new(4, "reason", T::Str, 0),
    F::new(11, "nominatedNodeName", T::Str, 0),
    F::new(5, "hostIP", T::Str, 0),
    F::new(16, "hostIPs", T::Msg(CORE_HOST_I_P), REP),
    F::new(6, "podIP", T::Str, 0),
    F::new(12, "podIPs", T::Msg(CORE_POD_I_P), REP),
    F::new(7, "startTime", T::Time, PTR),
    F::new(10, "initContainerStatuses", T::Msg(CORE_CONTAINER_STATUS), REP),
    F::new(8, "containerStatuses", T::Msg(CORE_CONTAINER_STATUS), REP),
    F::new(9, "qosClass", T::Str, 0),
    F::new(13, "ephemeralContainerStatuses", T::Msg(CORE_CONTAINER_STATUS), REP),
    F::new(14, "resize", T::Str, 0),
    F::new(15, "resourceClaimStatuses", T::Msg(CORE_POD_RESOURCE_CLAIM_STATUS), REP),
];

/// `Pod`
pub const CORE_POD: &[F] = &[
    F::new(1, "metadata", T::Msg(META_OBJECT_META), 0),
    F::new(2, "spec", T::Msg(CORE_POD_SPEC), 0),
    F::new(3, "status", T::Msg(CORE_POD_STATUS), 0),
];

/// `PodTemplateSpec`
pub const CORE_POD_TEMPLATE_SPEC: &[F] = &[
    F::new(1, "metadata", T::Msg(META_OBJECT_META), 0),
    F::new(2, "spec", T::Msg(CORE_POD_SPEC), 0),
];

/// `RollingUpdateDeployment`
pub const APPS_ROLLING_UPDATE_DEPLOYMENT: &[F] = &[
    F::new(1, "maxUnavailable", T::IntOrString, PTR),
    F::new(2, "maxSurge", T::IntOrString, PTR),
];

/// `DeploymentStrategy`
pub const APPS_DEPLOYMENT_STRATEGY: &[F] = &[
    F::new(1, "type", T::Str, 0),
    F::new(2, "rollingUpdate", T::Msg(APPS_ROLLING_UPDATE_DEPLOYMENT), PTR),
];

/// `DeploymentSpec`
pub const APPS_DEPLOYMENT_SPEC: &[F] = &[
    F::new(1, "replicas", T::I32, PTR),
    F::new(2, "selector", T::Msg(META_LABEL_SELECTOR), PTR),
    F::new(3, "template", T::Msg(CORE_POD_TEMPLATE_SPEC), 0),
    F::new(4, "strategy", T::Msg(APPS_DEPLOYMENT_STRATEGY), 0),
    F::new(5, "minReadySeconds", T::I32, 0),
    F::new(6, "revisionHistoryLimit", T::I32, PTR),
    F::new(7, "paused", T::Bool, 0),
    F::new(9, "progressDeadlineSeconds", T::I32, PTR),
];

/// `DeploymentCondition`
pub const APPS_DEPLOYMENT_CONDITION: &[F] = &[
    F::new(1, "type", T::Str, 0),
    F::new(2, "status", T::Str, 0),
    F::new(6, "lastUpdateTime", T::Time, 0),
    F::new(7, "lastTransitionTime", T::Time, 0),
    F::new(4, "reason", T::Str, 0),
    F::new(5, "message", T::Str, 0),
];

/// `DeploymentStatus`
pub const APPS_DEPLOYMENT_STATUS: &[F] = &[
    F::new(1, "observedGeneration", T::I64, 0),
    F::new(2, "replicas", T::I32, 0),
    F::new(3, "updatedReplicas", T::I32, 0),
    F::new(7, "readyReplicas", T::I32, 0),
    F::new(4, "availableReplicas", T::I32, 0),
    F::new(5, "unavailableReplicas", T::I32, 0),
    F::new(6, "conditions", T::Msg(APPS_DEPLOYMENT_CONDITION), REP),
    F::new(8, "collisionCount", T::I32, PTR),
];

/// `Deployment`
pub const APPS_DEPLOYMENT: &[F] = &[
    F::new(1, "metadata", T::Msg(META_OBJECT_META), 0),
    F::new(2, "spec", T::Msg(APPS_DEPLOYMENT_SPEC), 0),
    F::new(3, "status", T::Msg(APPS_DEPLOYMENT_STATUS), 0),
];

/// `ReplicaSetSpec`
pub const APPS_REPLICA_SET_SPEC: &[F] = &[
    F::new(1, "replicas", T::I32, PTR),
    F::new(4, "minReadySeconds", T::I32, 0),
    F::new(2, "selector", T::Msg(META_LABEL_SELECTOR), PTR),
    F::new(3, "template", T::Msg(CORE_POD_TEMPLATE_SPEC), 0),
];

/// `ReplicaSetCondition`
pub const APPS_REPLICA_SET_CONDITION: &[F] = &[
    F::new(1, "type", T::Str, 0),
    F::new(2, "status", T::Str, 0),
    F::new(3, "lastTransitionTime", T::Time, 0),
    F::new(4, "reason", T::Str, 0),
    F::new(5, "message", T::Str, 0),
];

/// `ReplicaSetStatus`
pub const APPS_REPLICA_SET_STATUS: &[F] = &[
    F::new(1, "replicas", T::I32, 0),
    F::new(2, "fullyLabeledReplicas", T::I32, 0),
    F::new(4, "readyReplicas", T::I32, 0),
    F::new(5, "availableReplicas", T::I32, 0),
    F::new(3, "observedGeneration", T::I64, 0),
    F::new(6, "conditions", T::Msg(APPS_REPLICA_SET_CONDITION), REP),
];

/// `ReplicaSet`
pub const APPS_REPLICA_SET: &[F] = &[
    F::new(1, "metadata", T::Msg(META_OBJECT_META), 0),
    F::new(2, "spec", T::Msg(APPS_REPLICA_SET_SPEC), 0),
    F::new(3, "status", T::Msg(APPS_REPLICA_SET_STATUS), 0),
];

/// `PersistentVolumeClaimCondition`
pub const CORE_PERSISTENT_VOLUME_CLAIM_CONDITION: &[F] = &[
    F::new(1, "type", T::Str, 0),
    F::new(2, "status", T::Str, 0),
    F::new(3, "lastProbeTime", T::Time, 0),
    F::new(4, "lastTransitionTime", T::Time, 0),
    F::new(5, "reason", T::Str, 0),
    F::new(6, "message", T::Str, 0),
];

/// `ModifyVolumeStatus`
pub const CORE_MODIFY_VOLUME_STATUS: &[F] = &[
    F::new(1, "targetVolumeAttributesClassName", T::Str, 0),
    F::new(2, "status", T::Str, 0),
];

/// `PersistentVolumeClaimStatus`
pub const CORE_PERSISTENT_VOLUME_CLAIM_STATUS: &[F] = &[
    F::new(1, "phase", T::Str, 0),
    F::new(2, "accessModes", T::Str, REP),
    F::new(3, "capacity", T::MapQuantity, 0),
    F::new(4, "conditions", T::Msg(CORE_PERSISTENT_VOLUME_CLAIM_CONDITION), REP),
    F::new(5, "allocatedResources", T::MapQuantity, 0),
    F::new(7, "allocatedResourceStatuses", T::MapStr, 0),
    F::new(8, "currentVolumeAttributesClassName", T::Str, PTR),
    F::new(9, "modifyVolumeStatus", T::Msg(CORE_MODIFY_VOLUME_STATUS), PTR),
];

/// `PersistentVolumeClaim`
pub const CORE_PERSISTENT_VOLUME_CLAIM: &[F] = &[
    F::new(1, "metadata", T::Msg(META_OBJECT_META), 0),
    F::new(2, "spec", T::Msg(CORE_PERSISTENT_VOLUME_CLAIM_SPEC), 0),
    F::new(3, "status", T::Msg(CORE_PERSISTENT_VOLUME_CLAIM_STATUS), 0),
];

/// `RollingUpdateStatefulSetStrategy`
pub const APPS_ROLLING_UPDATE_STATEFUL_SET_STRATEGY: &[F] = &[
    F::new(1, "partition", T::I32, PTR),
    F::new(2, "maxUnavailable", T::IntOrString, PTR),
];

/// `StatefulSetUpdateStrategy`
pub const APPS_STATEFUL_SET_UPDATE_STRATEGY: &[F] = &[
    F::new(1, "type", T::Str, 0),
    F::new(2, "rollingUpdate", T::Msg(APPS_ROLLING_UPDATE_STATEFUL_SET_STRATEGY), PTR),
];

/// `StatefulSetPersistentVolumeClaimRetentionPolicy`
pub const APPS_STATEFUL_SET_PERSISTENT_VOLUME_CLAIM_RETENTION_POLICY: &[F] = &[
    F::new(1, "whenDeleted", T::Str, 0),
    F::new(2, "whenScaled", T::Str, 0),
];

/// `StatefulSetOrdinals`
pub const APPS_STATEFUL_SET_ORDINALS: &[F] = &[
    F::new(1, "start", T::I32, 0),
];

/// `StatefulSetSpec`
pub const APPS_STATEFUL_SET_SPEC: &[F] = &[
    F::new(1, "replicas", T::I32, PTR),
    F::new(2, "selector", T::Msg(META_LABEL_SELECTOR), PTR),
    F::new(3, "template", T::Msg(CORE_POD_TEMPLATE_SPEC), 0),
    F::new(4, "volumeClaimTemplates", T::Msg(CORE_PERSISTENT_VOLUME_CLAIM), REP),
    F::new(5, "serviceName", T::Str, 0),
    F::new(6, "podManagementPolicy", T::Str, 0),
    F::new(7, "updateStrategy", T::Msg(APPS_STATEFUL_SET_UPDATE_STRATEGY), 0),
    F::new(8, "revisionHistoryLimit", T::I32, PTR),
    F::new(9, "minReadySeconds", T::I32, 0),
    F::new(10, "persistentVolumeClaimRetentionPolicy", T::Msg(APPS_STATEFUL_SET_PERSISTENT_VOLUME_CLAIM_RETENTION_POLICY), PTR),
    F::new(11, "ordinals", T::Msg(APPS_STATEFUL_SET_ORDINALS), PTR),
];

/// `StatefulSetCondition`
pub const APPS_STATEFUL_SET_CONDITION: &[F] = &[
    F::new(1, "type", T::Str, 0),
    F::new(2, "status", T::Str, 0),
    F::new(3, "lastTransitionTime", T::Time, 0),
    F::new(4, "reason", T::Str, 0),
    F::new(5, "message", T::Str, 0),
];

/// `StatefulSetStatus`
pub const APPS_STATEFUL_SET_STATUS: &[F] = &[
    F::new(1, "observedGeneration", T::I64, 0),
    F::new(2, "replicas", T::I32, 0),
    F::new(3, "readyReplicas", T::I32, 0),
    F::new(4, "currentReplicas", T::I32, 0),
    F::new(5, "updatedReplicas", T::I32, 0),
    F::new(6, "currentRevision", T::Str, 0),
    F::new(7, "updateRevision", T::Str, 0),
    F::new(9, "collisionCount", T::I32, PTR),
    F::new(10, "conditions", T::Msg(APPS_STATEFUL_SET_CONDITION), REP),
    F::new(11, "availableReplicas", T::I32, 0),
];

/// `StatefulSet`
pub const APPS_STATEFUL_SET: &[F] = &[
    F::new(1, "metadata", T::Msg(META_OBJECT_META), 0),
    F::new(2, "spec", T::Msg(APPS_STATEFUL_SET_SPEC), 0),
    F::new(3, "status", T::Msg(APPS_STATEFUL_SET_STATUS), 0),
];

/// `RollingUpdateDaemonSet`
pub const APPS_ROLLING_UPDATE_DAEMON_SET: &[F] = &[
    F::new(1, "maxUnavailable", T::IntOrString, PTR),
    F::new(2, "maxSurge", T::IntOrString, PTR),
];

/// `DaemonSetUpdateStrategy`
pub const APPS_DAEMON_SET_UPDATE_STRATEGY: &[F] = &[
    F::new(1, "type", T::Str, 0),
    F::new(2, "rollingUpdate", T::Msg(APPS_ROLLING_UPDATE_DAEMON_SET), PTR),
];

/// `DaemonSetSpec`
pub const APPS_DAEMON_SET_SPEC: &[F] = &[
    F::new(1, "selector", T::Msg(META_LABEL_SELECTOR), PTR),
    F::new(2, "template", T::Msg(CORE_POD_TEMPLATE_SPEC), 0),
    F::new(3, "updateStrategy", T::Msg(APPS_DAEMON_SET_UPDATE_STRATEGY), 0),
    F::new(4, "minReadySeconds", T::I32, 0),
    F::new(6, "revisionHistoryLimit", T::I32, PTR),
];

/// `DaemonSetCondition`
pub const APPS_DAEMON_SET_CONDITION: &[F] = &[
    F::new(1, "type", T::Str, 0),
    F::new(2, "status", T::Str, 0),
    F::new(3, "lastTransitionTime", T::Time, 0),
    F::new(4, "reason", T::Str, 0),
    F::new(5, "message", T::Str, 0),
];

/// `DaemonSetStatus`
pub const APPS_DAEMON_SET_STATUS: &[F] = &[
    F::new(1, "currentNumberScheduled", T::I32, 0),
    F::new(2, "numberMisscheduled", T::I32, 0),
    F::new(3, "desiredNumberScheduled", T::I32, 0),
    F::new(4, "numberReady", T::I32, 0),
    F::new(5, "observedGeneration", T::I64, 0),
    F::new(6, "updatedNumberScheduled", T::I32, 0),
    F::new(7, "numberAvailable", T::I32, 0),
    F::new(8, "numberUnavailable", T::I32, 0),
    F::new(9, "collisionCount", T::I32, PTR),
    F::new(10, "conditions", T::Msg(APPS_DAEMON_SET_CONDITION), REP),
];

/// `DaemonSet`
pub const APPS_DAEMON_SET: &[F] = &[
    F::new(1, "metadata", T::Msg(META_OBJECT_META), 0),
    F::new(2, "spec", T::Msg(APPS_DAEMON_SET_SPEC), 0),
    F::new(3, "status", T::Msg(APPS_DAEMON_SET_STATUS), 0),
];

/// `PodFailurePolicyOnExitCodesRequirement`
pub const BATCH_POD_FAILURE_POLICY_ON_EXIT_CODES_REQUIREMENT: &[F] = &[
    F::new(1, "containerName", T::Str, PTR),
    F::new(2, "operator", T::Str, 0),
    F::new(3, "values", T::I32, REP),
];

/// `PodFailurePolicyOnPodConditionsPattern`
pub const BATCH_POD_FAILURE_POLICY_ON_POD_CONDITIONS_PATTERN: &[F] = &[
    F::new(1, "type", T::Str, 0),
    F::new(2, "status", T::Str, 0),
];

/// `PodFailurePolicyRule`
pub const BATCH_POD_FAILURE_POLICY_RULE: &[F] = &[
    F::new(1, "action", T::Str, 0),
    F::new(2, "onExitCodes", T::Msg(BATCH_POD_FAILURE_POLICY_ON_EXIT_CODES_REQUIREMENT), PTR),
    F::new(3, "onPodConditions", T::Msg(BATCH_POD_FAILURE_POLICY_ON_POD_CONDITIONS_PATTERN), REP),
];

/// `PodFailurePolicy`
pub const BATCH_POD_FAILURE_POLICY: &[F] = &[
    F::new(1, "rules", T::Msg(BATCH_POD_FAILURE_POLICY_RULE), REP),
];

/// `SuccessPolicyRule`
pub const BATCH_SUCCESS_POLICY_RULE: &[F] = &[
    F::new(1, "succeededIndexes", T::Str, PTR),
    F::new(2, "succeededCount", T::I32, PTR),
];

/// `SuccessPolicy`
pub const BATCH_SUCCESS_POLICY: &[F] = &[
    F::new(1, "rules", T::Msg(BATCH_SUCCESS_POLICY_RULE), REP),
];

/// `JobSpec`
pub const BATCH_JOB_SPEC: &[F] = &[
    F::new(1, "parallelism", T::I32, PTR),
    F::new(2, "completions", T::I32, PTR),
    F::new(3, "activeDeadlineSeconds", T::I64, PTR),
    F::new(11, "podFailurePolicy", T::Msg(BATCH_POD_FAILURE_POLICY), PTR),
    F::new(16, "successPolicy", T::Msg(BATCH_SUCCESS_POLICY), PTR),
    F::new(7, "backoffLimit", T::I32, PTR),
    F::new(12, "backoffLimitPerIndex", T::I32, PTR),
    F::new(13, "maxFailedIndexes", T::I32, PTR),
    F::new(4, "selector", T::Msg(META_LABEL_SELECTOR), PTR),
    F::new(5, "manualSelector", T::Bool, PTR),
    F::new(6, "template", T::Msg(CORE_POD_TEMPLATE_SPEC), 0),
    F::new(8, "ttlSecondsAfterFinished", T::I32, PTR),
    F::new(9, "completionMode", T::Str, PTR),
    F::new(10, "suspend", T::Bool, PTR),
    F::new(14, "podReplacementPolicy", T::Str, PTR),
    F::new(15, "managedBy", T::Str, PTR),
];

/// `JobCondition`
pub const BATCH_JOB_CONDITION: &[F] = &[
    F::new(1, "type", T::Str, 0),
    F::new(2, "status", T::Str, 0),
    F::new(3, "lastProbeTime", T::Time, 0),
    F::new(4, "lastTransitionTime", T::Time, 0),
    F::new(5, "reason", T::Str, 0),
    F::new(6, "message", T::Str, 0),
];

/// `UncountedTerminatedPods`
pub const BATCH_UNCOUNTED_TERMINATED_PODS: &[F] = &[
    F::new(1, "succeeded", T::Str, REP),
    F::new(2, "failed", T::Str, REP),
];

/// `JobStatus`
pub const BATCH_JOB_STATUS: &[F] = &[
    F::new(1, "conditions", T::Msg(BATCH_JOB_CONDITION), REP),
    F::new(2, "startTime", T::Time, PTR),
    F::new(3, "completionTime", T::Time, PTR),
    F::new(4, "active", T::I32, 0),
    F::new(5, "succeeded", T::I32, 0),
    F::new(6, "failed", T::I32, 0),
    F::new(11, "terminating", T::I32, PTR),
    F::new(7, "completedIndexes", T::Str, 0),
    F::new(10, "failedIndexes", T::Str, PTR),
    F::new(8, "uncountedTerminatedPods", T::Msg(BATCH_UNCOUNTED_TERMINATED_PODS), PTR),
    F::new(9, "ready", T::I32, PTR),
];

/// `Job`
pub const BATCH_JOB: &[F] = &[
    F::new(1, "metadata", T::Msg(META_OBJECT_META), 0),
    F::new(2, "spec", T::Msg(BATCH_JOB_SPEC), 0),
    F::new(3, "status", T::Msg(BATCH_JOB_STATUS), 0),
];

/// `JobTemplateSpec`
pub const BATCH_JOB_TEMPLATE_SPEC: &[F] = &[
    F::new(1, "metadata", T::Msg(META_OBJECT_META), 0),
    F::new(2, "spec", T::Msg(BATCH_JOB_SPEC), 0),
];

/// `CronJobSpec`
pub const BATCH_CRON_JOB_SPEC: &[F] = &[
    F::new(1, "schedule", T::Str, 0),
    F::new(8, "timeZone", T::Str, PTR),
    F::new(2, "startingDeadlineSeconds", T::I64, PTR),
    F::new(3, "concurrencyPolicy", T::Str, 0),
    F::new(4, "suspend", T::Bool, PTR),
    F::new(5, "jobTemplate", T::Msg(BATCH_JOB_TEMPLATE_SPEC), 0),
    F::new(6, "successfulJobsHistoryLimit", T::I32, PTR),
    F::new(7, "failedJobsHistoryLimit", T::I32, PTR),
];

/// `CronJobStatus`
pub const BATCH_CRON_JOB_STATUS: &[F] = &[
    F::new(1, "active", T::Msg(CORE_OBJECT_REFERENCE), REP),
    F::new(4, "lastScheduleTime", T::Time, PTR),
    F::new(5, "lastSuccessfulTime", T::Time, PTR),
];

/// `CronJob`
pub const BATCH_CRON_JOB: &[F] = &[
    F::new(1, "metadata", T::Msg(META_OBJECT_META), 0),
    F::new(2, "spec", T::Msg(BATCH_CRON_JOB_SPEC), 0),
    F::new(3, "status", T::Msg(BATCH_CRON_JOB_STATUS), 0),
];

/// `Preconditions`
pub const META_PRECONDITIONS: &[F] = &[
    F::new(1, "uid", T::Str, PTR),
    F::new(2, "resourceVersion", T::Str, PTR),
];

/// `DeleteOptions`
pub const META_DELETE_OPTIONS: &[F] = &[
    F::new(1, "gracePeriodSeconds", T::I64, PTR),
    F::new(2, "preconditions", T::Msg(META_PRECONDITIONS), PTR),
    F::new(3, "orphanDependents", T::Bool, PTR),
    F::new(4, "propagationPolicy", T::Str, PTR),
    F::new(5, "dryRun", T::Str, REP),
    F::new(6, "ignoreStoreReadErrorWithClusterBreakingPotential", T::Bool, PTR),
];

/// `Eviction`
pub const POLICY_EVICTION: &[F] = &[
    F::new(1, "metadata", T::Msg(META_OBJECT_META), 0),
    F::new(2, "deleteOptions", T::Msg(META_DELETE_OPTIONS), PTR),
];

/// `PodDisruptionBudgetSpec`
pub const POLICY_POD_DISRUPTION_BUDGET_SPEC: &[F] = &[
    F::new(1, "minAvailable", T::IntOrString, PTR),
    F::new(2, "selector", T::Msg(META_LABEL_SELECTOR), PTR),
    F::new(3, "maxUnavailable", T::IntOrString, PTR),
    F::new(4, "unhealthyPodEvictionPolicy", T::Str, PTR),
];

/// `PodDisruptionBudgetStatus`
pub const POLICY_POD_DISRUPTION_BUDGET_STATUS: &[F] = &[
    F::new(1, "observedGeneration", T::I64, 0),
    F::new(2, "disruptedPods", T::MapTime, 0),
    F::new(3, "disruptionsAllowed", T::I32, 0),
    F::new(4, "currentHealthy", T::I32, 0),
    F::new(5, "desiredHealthy", T::I32, 0),
    F::new(6, "expectedPods", T::I32, 0),
    F::new(7, "conditions", T::Msg(META_CONDITION), REP),
];

/// `PodDisruptionBudget`
pub const POLICY_POD_DISRUPTION_BUDGET: &[F] = &[
    F::new(1, "metadata", T::Msg(META_OBJECT_META), 0),
    F::new(2, "spec", T::Msg(POLICY_POD_DISRUPTION_BUDGET_SPEC), 0),
    F::new(3, "status", T::Msg(POLICY_POD_DISRUPTION_BUDGET_STATUS), 0),
];

/// `Binding`
pub const CORE_BINDING: &[F] = &[
    F::new(1, "metadata", T::Msg(META_OBJECT_META), 0),
    F::new(2, "target", T::Msg(CORE_OBJECT_REFERENCE), 0),
];

/// `ScopedResourceSelectorRequirement`
pub const CORE_SCOPED_RESOURCE_SELECTOR_REQUIREMENT: &[F] = &[
    F::new(1, "scopeName", T::Str, 0),
    F::new(2, "operator", T::Str, 0),
    F::new(3, "values", T::Str, REP),
];

/// `ScopeSelector`
pub const CORE_SCOPE_SELECTOR: &[F] = &[
    F::new(1, "matchExpressions", T::Msg(CORE_SCOPED_RESOURCE_SELECTOR_REQUIREMENT), REP),
];

/// `ResourceQuotaSpec`
pub const CORE_RESOURCE_QUOTA_SPEC: &[F] = &[
    F::new(1, "hard", T::MapQuantity, 0),
    F::new(2, "scopes", T::Str, REP),
    F::new(3, "scopeSelector", T::Msg(CORE_SCOPE_SELECTOR), PTR),
];

/// `ResourceQuotaStatus`
pub const CORE_RESOURCE_QUOTA_STATUS: &[F] = &[
    F::new(1, "hard", T::MapQuantity, 0),
    F::new(2, "used", T::MapQuantity, 0),
];

/// `ResourceQuota`
pub const CORE_RESOURCE_QUOTA: &[F] = &[
    F::new(1, "metadata", T::Msg(META_OBJECT_META), 0),
    F::new(2, "spec", T::Msg(CORE_RESOURCE_QUOTA_SPEC), 0),
    F::new(3, "status", T::Msg(CORE_RESOURCE_QUOTA_STATUS), 0),
];

/// `EndpointAddress`
pub const CORE_ENDPOINT_ADDRESS: &[F] = &[
    F::new(1, "ip", T::Str, 0),
    F::new(3, "hostname", T::Str, 0),
    F::new(4, "nodeName", T::Str, PTR),
    F::new(2, "targetRef", T::Msg(CORE_OBJECT_REFERENCE), PTR),
];

/// `EndpointPort`
pub const CORE_ENDPOINT_PORT: &[F] = &[
    F::new(1, "name", T::Str, 0),
    F::new(2, "port", T::I32, 0),
    F::new(3, "protocol", T::Str, 0),
    F::new(4, "appProtocol", T::Str, PTR),
];

/// `EndpointSubset`
pub const CORE_ENDPOINT_SUBSET: &[F] = &[
    F::new(1, "addresses", T::Msg(CORE_ENDPOINT_ADDRESS), REP),
    F::new(2, "notReadyAddresses", T::Msg(CORE_ENDPOINT_ADDRESS), REP),
    F::new(3, "ports", T::Msg(CORE_ENDPOINT_PORT), REP),
];

/// `Endpoints`
pub const CORE_ENDPOINTS: &[F] = &[
    F::new(1, "metadata", T::Msg(META_OBJECT_META), 0),
    F::new(2, "subsets", T::Msg(CORE_ENDPOINT_SUBSET), REP),
];


/// `BoundObjectReference` (authentication/v1)
pub const AUTHN_BOUND_OBJECT_REFERENCE: &[F] = &[
    F::new(1, "kind", T::Str, 0),
    F::new(2, "apiVersion", T::Str, 0),
    F::new(3, "name", T::Str, 0),
    F::new(4, "uid", T::Str, 0),
];

/// `TokenRequestSpec`
pub const AUTHN_TOKEN_REQUEST_SPEC: &[F] = &[
    F::new(1, "audiences", T::Str, REP),
    F::new(4, "expirationSeconds", T::I64, PTR),
    F::new(3, "boundObjectRef", T::Msg(AUTHN_BOUND_OBJECT_REFERENCE), PTR),
];

/// `TokenRequestStatus`
pub const AUTHN_TOKEN_REQUEST_STATUS: &[F] = &[
    F::new(1, "token", T::Str, 0),
    F::new(2, "expirationTimestamp", T::Time, 0),
];

/// `TokenRequest` (`kubectl create token`)
pub const AUTHN_TOKEN_REQUEST: &[F] = &[
    F::new(1, "metadata", T::Msg(META_OBJECT_META), 0),
    F::new(2, "spec", T::Msg(AUTHN_TOKEN_REQUEST_SPEC), 0),
    F::new(3, "status", T::Msg(AUTHN_TOKEN_REQUEST_STATUS), 0),
];

/// `UserInfo` (authentication/v1)
pub const AUTHN_USER_INFO: &[F] = &[
    F::new(1, "username", T::Str, 0),
    F::new(2, "uid", T::Str, 0),
    F::new(3, "groups", T::Str, REP),
];

/// `SelfSubjectReviewStatus`
pub const AUTHN_SELF_SUBJECT_REVIEW_STATUS: &[F] = &[
    F::new(1, "userInfo", T::Msg(AUTHN_USER_INFO), 0),
];

/// `SelfSubjectReview` (`kubectl auth whoami`)
pub const AUTHN_SELF_SUBJECT_REVIEW: &[F] = &[
    F::new(1, "metadata", T::Msg(META_OBJECT_META), 0),
    F::new(2, "status", T::Msg(AUTHN_SELF_SUBJECT_REVIEW_STATUS), 0),
];

/// `ResourceAttributes` (authorization/v1)
pub const AUTHZ_RESOURCE_ATTRIBUTES: &[F] = &[
    F::new(1, "namespace", T::Str, 0),
    F::new(2, "verb", T::Str, 0),
    F::new(3, "group", T::Str, 0),
    F::new(4, "version", T::Str, 0),
    F::new(5, "resource", T::Str, 0),
    F::new(6, "subresource", T::Str, 0),
    F::new(7, "name", T::Str, 0),
];

/// `NonResourceAttributes`
pub const AUTHZ_NON_RESOURCE_ATTRIBUTES: &[F] = &[
    F::new(1, "path", T::Str, 0),
    F::new(2, "verb", T::Str, 0),
];

/// `SelfSubjectAccessReviewSpec`
pub const AUTHZ_SELF_SUBJECT_ACCESS_REVIEW_SPEC: &[F] = &[
    F::new(1, "resourceAttributes", T::Msg(AUTHZ_RESOURCE_ATTRIBUTES), PTR),
    F::new(2, "nonResourceAttributes", T::Msg(AUTHZ_NON_RESOURCE_ATTRIBUTES), PTR),
];

/// `SubjectAccessReviewStatus`
pub const AUTHZ_SUBJECT_ACCESS_REVIEW_STATUS: &[F] = &[
    F::new(1, "allowed", T::Bool, 0),
    F::new(4, "denied", T::Bool, 0),
    F::new(2, "reason", T::Str, 0),
    F::new(3, "evaluationError", T::Str, 0),
];

/// `SelfSubjectAccessReview` (`kubectl auth can-i`)
pub const AUTHZ_SELF_SUBJECT_ACCESS_REVIEW: &[F] = &[
    F::new(1, "metadata", T::Msg(META_OBJECT_META), 0),
    F::new(2, "spec", T::Msg(AUTHZ_SELF_SUBJECT_ACCESS_REVIEW_SPEC), 0),
    F::new(3, "status", T::Msg(AUTHZ_SUBJECT_ACCESS_REVIEW_STATUS), 0),
];

/// `SelfSubjectRulesReviewSpec`
pub const AUTHZ_SELF_SUBJECT_RULES_REVIEW_SPEC: &[F] = &[
    F::new(1, "namespace", T::Str, 0),
];

/// `SubjectRulesReviewStatus` (its rules are the server's to give: never sent)
pub const AUTHZ_SUBJECT_RULES_REVIEW_STATUS: &[F] = &[
    F::new(3, "incomplete", T::Bool, 0),
    F::new(4, "evaluationError", T::Str, 0),
];

/// `SelfSubjectRulesReview` (`kubectl auth can-i --list`)
pub const AUTHZ_SELF_SUBJECT_RULES_REVIEW: &[F] = &[
    F::new(1, "metadata", T::Msg(META_OBJECT_META), 0),
    F::new(2, "spec", T::Msg(AUTHZ_SELF_SUBJECT_RULES_REVIEW_SPEC), 0),
    F::new(3, "status", T::Msg(AUTHZ_SUBJECT_RULES_REVIEW_STATUS), 0),
];

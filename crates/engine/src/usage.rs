//! What the engine's objects take on disk (`system df`, the Engine API's
//! `/system/df`): images with the bytes they share, containers' writable layers,
//! volumes with their users, the build cache. Counted once here; clients render it.

use std::collections::HashMap;

use image::store::{CacheEntry, ImageSummary};

use crate::db::{Record, Volume};
use crate::lifecycle::Engine;
use crate::Result;

/// An image and what it shares.
#[derive(Debug, Clone)]
pub struct ImageUsage {
    /// The image.
    pub image: ImageSummary,
    /// Bytes of its layers that other images use too.
    pub shared_size: u64,
    /// Containers made from it.
    pub containers: usize,
}

/// A container and its layer.
#[derive(Debug, Clone)]
pub struct ContainerUsage {
    /// The container.
    pub record: Record,
    /// Bytes it wrote to its own layer.
    pub size_rw: u64,
    /// Its whole file system: its layer and its image's.
    pub size_root_fs: u64,
}

/// A volume and its users.
#[derive(Debug, Clone)]
pub struct VolumeUsage {
    /// The volume.
    pub volume: Volume,
    /// Bytes in it.
    pub size: u64,
    /// Containers that mount it.
    pub ref_count: usize,
}

/// The whole account.
#[derive(Debug, Clone)]
pub struct DiskUsage {
    /// Bytes of all image layers, each layer counted once.
    pub layers_size: u64,
    /// Every image.
    pub images: Vec<ImageUsage>,
    /// Every container.
    pub containers: Vec<ContainerUsage>,
    /// Every volume.
    pub volumes: Vec<VolumeUsage>,
    /// The build cache's entries.
    pub build_cache: Vec<CacheEntry>,
}

impl DiskUsage {
    /// Bytes of images that no container uses: what removing them would free, as
    /// docker's `system df` counts it (all layers, less what used images hold alone).
    pub fn images_reclaimable(&self) -> u64 {
        let used: u64 = self
            .images
            .iter()
            .filter(|i| i.containers > 0)
            .map(|i| i.image.size.saturating_sub(i.shared_size))
            .sum();
        self.layers_size.saturating_sub(used)
    }
}

impl Engine {
    /// What images, containers, volumes and the build cache take on disk.
    pub fn disk_usage(&mut self) -> Result<DiskUsage> {
        let images = self.image_list()?;
        let records = self.list()?;
        let mut per_image: HashMap<String, usize> = HashMap::new();
        for r in &records {
            *per_image.entry(r.config.image_id.clone()).or_default() += 1;
        }
        // Each layer once, and how many images have it.
        let mut layers: HashMap<content::Digest, (u64, usize)> = HashMap::new();
        let mut image_layers = Vec::with_capacity(images.len());
        for i in &images {
            let ls = self.image_layers(&i.id)?;
            for l in &ls {
                layers.entry(l.digest.clone()).or_insert((l.size, 0)).1 += 1;
            }
            image_layers.push(ls);
        }
        let layers_size = layers.values().map(|(size, _)| size).sum();
        let image_size: HashMap<String, u64> =
            images.iter().map(|i| (i.id.to_string(), i.size)).collect();
        let images = images
            .into_iter()
            .zip(image_layers)
            .map(|(image, ls)| {
                let shared_size = ls
                    .iter()
                    .filter(|l| layers.get(&l.digest).is_some_and(|(_, n)| *n > 1))
                    .map(|l| l.size)
                    .sum();
                let containers = per_image.get(&image.id.to_string()).copied().unwrap_or(0);
                ImageUsage {
                    image,
                    shared_size,
                    containers,
                }
            })
            .collect();
        let containers = records
            .into_iter()
            .map(|record| {
                let size_rw = self.container_size(&record.id);
                let base = image_size
                    .get(&record.config.image_id)
                    .copied()
                    .unwrap_or(0);
                ContainerUsage {
                    size_rw,
                    size_root_fs: size_rw + base,
                    record,
                }
            })
            .collect();
        let mut volumes = Vec::new();
        for volume in self.volumes()? {
            let size = self.volume_size(&volume.name);
            let ref_count = self.volume_users(&volume.name)?.len();
            volumes.push(VolumeUsage {
                volume,
                size,
                ref_count,
            });
        }
        Ok(DiskUsage {
            layers_size,
            images,
            containers,
            volumes,
            build_cache: self.build_cache_entries()?,
        })
    }
}

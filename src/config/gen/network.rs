//! The generation's entry points: the templates it starts from and the
//! dispatch to the mode that builds the network.

use std::path::{Path, PathBuf};

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use super::config::GenConfig;
use super::{Entropy, Gen, GenMode, GenTemplate, GenTemplates, GeneratedNetwork, defaults};
use crate::config::read_text;
use crate::config::write_error::WriteError;

/// The generator's templates (resolved against its folder when it was
/// loaded), or the built-in ones for those it leaves empty.
pub fn read_templates(config: &GenConfig) -> Result<GenTemplates, WriteError> {
    let read = |path: &Option<PathBuf>, name: &str, builtin: &str| -> Result<_, WriteError> {
        match path {
            Some(p) => Ok(GenTemplate {
                path: p.clone(),
                text: read_text(p).map_err(WriteError::Config)?,
            }),
            None => Ok(GenTemplate {
                path: PathBuf::from(name),
                text: builtin.to_owned(),
            }),
        }
    };
    Ok(GenTemplates {
        edge: read(
            &config.edge_template,
            "<built-in edge template>",
            defaults::EDGE_TEMPLATE,
        )?,
        super_node: read(
            &config.super_template,
            "<built-in supernode template>",
            defaults::SUPER_TEMPLATE,
        )?,
    })
}

/// Generates the network `generator` (the file `config` was loaded from,
/// named in errors) describes, drawing all randomness from `seed`.
pub fn generate(
    generator: &Path,
    config: &GenConfig,
    templates: &GenTemplates,
    mode: GenMode,
    seed: [u8; 32],
) -> Result<GeneratedNetwork, WriteError> {
    let g = Gen {
        file: generator,
        config,
        templates,
    };
    check_network_name(&g)?;
    if config.output_dir.as_os_str().is_empty() {
        return Err(g.error("Config output dir", "must name the folder to write into"));
    }
    let mut rng = Entropy::new(ChaCha20Rng::from_seed(seed));
    match mode {
        GenMode::Static => super::mesh::mesh(&g, false, &mut rng),
        GenMode::P2p => super::mesh::mesh(&g, true, &mut rng),
        GenMode::Super => super::super_mode::super_network(&g, &mut rng),
    }
}

/// Upstream's limits on `Network name`: it goes into file and interface
/// names.
const NETWORK_NAME_MAX: usize = 10;

fn check_network_name(g: &Gen<'_>) -> Result<(), WriteError> {
    let name = &g.config.network_name;
    let key = "Network name";
    if name.is_empty() {
        return Err(g.error(key, "must not be empty (it names the files and interfaces)"));
    }
    if name.len() > NETWORK_NAME_MAX {
        return Err(g.error(
            key,
            format!("{name:?} is longer than {NETWORK_NAME_MAX} characters"),
        ));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(g.error(
            key,
            format!("{name:?} may only contain letters, digits, '_' and '-'"),
        ));
    }
    Ok(())
}

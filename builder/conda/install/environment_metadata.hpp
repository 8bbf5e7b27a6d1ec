#pragma once
// What a conda environment holds besides its packages (CEP 32):
// conda-meta/history (one action block listing every linked package, dated
// by SOURCE_DATE_EPOCH so the bytes are reproducible), conda-meta/state
// (the definition's variables, exported on activation), and the activation
// variables packages ship in etc/conda/env_vars.d/*.json, which an image
// has no activation step for and so gets as Env.
#include <map>
#include <string>
#include <vector>

#include "builder/conda/package_record.hpp"
#include "registry/layer_writer.hpp"

namespace envbuild::builder::conda {

std::string history_text(const std::vector<PackageRecord>& linked,
                         const std::vector<std::string>& requested, int64_t epoch_seconds);

// The entries for the environment's last layer: conda-meta/history and,
// when there are variables, conda-meta/state. `prefix` without its leading
// '/' ("opt/conda").
std::vector<registry::LayerEntry> environment_metadata_entries(
    const std::string& prefix, const std::vector<PackageRecord>& linked,
    const std::vector<std::string>& requested, const std::map<std::string, std::string>& variables,
    int64_t epoch_seconds);

// Merges env_vars.d documents in file-name order (later ones win), as conda
// does on activation. Each document is a JSON object of strings; others are
// skipped and named in `problems`.
std::map<std::string, std::string> merge_env_vars_documents(
    const std::vector<std::pair<std::string, std::string>>& name_and_text,
    std::vector<std::string>& problems);

}  // namespace envbuild::builder::conda

#pragma once
// The OCI image configuration: what a container runs with, and the DiffIDs
// of its layers. Fields we don't model survive parse -> modify -> serialize.
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "registry/descriptor.hpp"
#include "registry/digest.hpp"

namespace envbuild::registry {

struct HistoryEntry {
  std::string created;
  std::string created_by;
  std::string comment;
  bool empty_layer = false;
};

struct ImageConfig {
  std::string architecture = "amd64";
  std::string os = "linux";
  std::string variant;
  std::string created;  // RFC 3339; empty: omitted (never "now", for reproducibility)
  std::string author;
  std::string user;
  std::vector<std::string> env;  // KEY=VALUE, in order
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
  std::string working_dir;
  std::map<std::string, std::string> labels;
  std::vector<Digest> diff_ids;
  std::vector<HistoryEntry> history;

  // Errors name `where` and the field.
  static ImageConfig parse(std::string_view bytes, std::string_view where);
  // Stable, compact bytes.
  std::string to_bytes() const;

  // Sets KEY=VALUE, replacing an existing KEY in place.
  void set_env(std::string_view key_value);
  std::optional<std::string> get_env(std::string_view key) const;
  void add_layer(const Digest& diff_id, std::string created_by, std::string created_at);

 private:
  nlohmann::ordered_json unknown_top_;
  nlohmann::ordered_json unknown_config_;
};

// "1970-01-01T00:00:00Z" for an epoch in seconds: how image configs and
// history entries stamp a reproducible build.
std::string rfc3339_utc(int64_t epoch_seconds);
// `epoch_seconds` in UTC through strftime's `format`.
std::string utc_time(int64_t epoch_seconds, const char* format);

class Store;
// Serializes `config`, stores it in `store` and returns its descriptor.
Descriptor put_image_config(Store& store, const ImageConfig& config);

}  // namespace envbuild::registry

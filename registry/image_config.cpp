#include "registry/image_config.hpp"

#include <ctime>

#include "registry/blob_io.hpp"
#include "registry/error.hpp"
#include "registry/media_types.hpp"
#include "registry/store.hpp"

namespace envbuild::registry {

namespace {

[[noreturn]] void bad(std::string_view where, const std::string& what) {
  throw Error(ErrorKind::BadInput, std::string(where) + ": " + what);
}

std::string get_string(const nlohmann::ordered_json& j, const char* key, std::string_view where) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return {};
  if (!it->is_string()) bad(where, std::string("field '") + key + "' must be a string");
  return it->get<std::string>();
}

std::vector<std::string> get_strings(const nlohmann::ordered_json& j, const char* key,
                                     std::string_view where) {
  std::vector<std::string> out;
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return out;
  if (!it->is_array()) bad(where, std::string("field '") + key + "' must be an array of strings");
  for (const auto& v : *it) {
    if (!v.is_string()) bad(where, std::string("field '") + key + "' must be an array of strings");
    out.push_back(v.get<std::string>());
  }
  return out;
}

}  // namespace

ImageConfig ImageConfig::parse(std::string_view bytes, std::string_view where) {
  nlohmann::ordered_json j = nlohmann::ordered_json::parse(bytes, nullptr, false);
  if (j.is_discarded() || !j.is_object()) bad(where, "image config is not a JSON object");
  ImageConfig c;
  c.architecture = get_string(j, "architecture", where);
  c.os = get_string(j, "os", where);
  c.variant = get_string(j, "variant", where);
  c.created = get_string(j, "created", where);
  c.author = get_string(j, "author", where);
  if (auto it = j.find("config"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) bad(where, "field 'config' must be an object");
    const auto& cfg = *it;
    c.user = get_string(cfg, "User", where);
    c.env = get_strings(cfg, "Env", where);
    c.entrypoint = get_strings(cfg, "Entrypoint", where);
    c.cmd = get_strings(cfg, "Cmd", where);
    c.working_dir = get_string(cfg, "WorkingDir", where);
    if (auto l = cfg.find("Labels"); l != cfg.end() && !l->is_null()) {
      if (!l->is_object()) bad(where, "field 'config.Labels' must be an object");
      for (const auto& [k, v] : l->items()) {
        if (!v.is_string()) bad(where, "label '" + k + "' must be a string");
        c.labels[k] = v.get<std::string>();
      }
    }
    for (const auto& [k, v] : cfg.items()) {
      if (k != "User" && k != "Env" && k != "Entrypoint" && k != "Cmd" && k != "WorkingDir" &&
          k != "Labels") {
        c.unknown_config_[k] = v;
      }
    }
  }
  if (auto it = j.find("rootfs"); it != j.end()) {
    if (!it->is_object()) bad(where, "field 'rootfs' must be an object");
    size_t i = 0;
    for (const auto& d : get_strings(*it, "diff_ids", where)) {
      Digest digest;
      if (!Digest::try_parse(d, digest))
        bad(where, "rootfs.diff_ids[" + std::to_string(i) + "] is not a digest");
      c.diff_ids.push_back(digest);
      ++i;
    }
  }
  if (auto it = j.find("history"); it != j.end() && !it->is_null()) {
    if (!it->is_array()) bad(where, "field 'history' must be an array");
    for (const auto& h : *it) {
      if (!h.is_object()) bad(where, "history entries must be objects");
      HistoryEntry e;
      e.created = get_string(h, "created", where);
      e.created_by = get_string(h, "created_by", where);
      e.comment = get_string(h, "comment", where);
      if (auto el = h.find("empty_layer"); el != h.end() && el->is_boolean())
        e.empty_layer = el->get<bool>();
      c.history.push_back(e);
    }
  }
  for (const auto& [k, v] : j.items()) {
    if (k != "architecture" && k != "os" && k != "variant" && k != "created" && k != "author" &&
        k != "config" && k != "rootfs" && k != "history") {
      c.unknown_top_[k] = v;
    }
  }
  return c;
}

std::string ImageConfig::to_bytes() const {
  nlohmann::ordered_json j;
  if (!created.empty()) j["created"] = created;
  if (!author.empty()) j["author"] = author;
  j["architecture"] = architecture;
  j["os"] = os;
  if (!variant.empty()) j["variant"] = variant;
  nlohmann::ordered_json cfg = nlohmann::ordered_json::object();
  if (!user.empty()) cfg["User"] = user;
  if (!env.empty()) cfg["Env"] = env;
  if (!entrypoint.empty()) cfg["Entrypoint"] = entrypoint;
  if (!cmd.empty()) cfg["Cmd"] = cmd;
  if (!working_dir.empty()) cfg["WorkingDir"] = working_dir;
  if (!labels.empty()) {
    nlohmann::ordered_json l = nlohmann::ordered_json::object();
    for (const auto& [k, v] : labels) l[k] = v;
    cfg["Labels"] = l;
  }
  for (const auto& [k, v] : unknown_config_.items()) cfg[k] = v;
  j["config"] = cfg;
  nlohmann::ordered_json ids = nlohmann::ordered_json::array();
  for (const auto& d : diff_ids) ids.push_back(d.str());
  j["rootfs"] = {{"type", "layers"}, {"diff_ids", ids}};
  if (!history.empty()) {
    nlohmann::ordered_json h = nlohmann::ordered_json::array();
    for (const auto& e : history) {
      nlohmann::ordered_json x;
      if (!e.created.empty()) x["created"] = e.created;
      if (!e.created_by.empty()) x["created_by"] = e.created_by;
      if (!e.comment.empty()) x["comment"] = e.comment;
      if (e.empty_layer) x["empty_layer"] = true;
      h.push_back(x);
    }
    j["history"] = h;
  }
  for (const auto& [k, v] : unknown_top_.items()) j[k] = v;
  return j.dump();
}

void ImageConfig::set_env(std::string_view key_value) {
  auto eq = key_value.find('=');
  std::string_view key = key_value.substr(0, eq);
  if (key.empty() || eq == std::string_view::npos) {
    throw Error(ErrorKind::BadInput,
                "environment variable '" + std::string(key_value) + "' must be KEY=VALUE");
  }
  for (auto& e : env) {
    if (e.size() > key.size() && e.compare(0, key.size(), key) == 0 && e[key.size()] == '=') {
      e = std::string(key_value);
      return;
    }
  }
  env.emplace_back(key_value);
}

std::optional<std::string> ImageConfig::get_env(std::string_view key) const {
  for (const auto& e : env) {
    if (e.size() > key.size() && e.compare(0, key.size(), key) == 0 && e[key.size()] == '=') {
      return e.substr(key.size() + 1);
    }
  }
  return std::nullopt;
}

void ImageConfig::add_layer(const Digest& diff_id, std::string created_by, std::string created_at) {
  diff_ids.push_back(diff_id);
  history.push_back(HistoryEntry{std::move(created_at), std::move(created_by), {}, false});
}

std::string utc_time(int64_t epoch_seconds, const char* format) {
  std::time_t t = static_cast<std::time_t>(epoch_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, format, &tm);
  return buf;
}

std::string rfc3339_utc(int64_t epoch_seconds) {
  return utc_time(epoch_seconds, "%Y-%m-%dT%H:%M:%SZ");
}

Descriptor put_image_config(Store& store, const ImageConfig& config) {
  const std::string bytes = config.to_bytes();
  Descriptor d;
  d.media_type = std::string(media::kOciConfig);
  d.digest = Digest::sha256_of(bytes);
  d.size = static_cast<int64_t>(bytes.size());
  MemoryBlobReader reader(bytes);
  store.put_blob(d, reader);
  return d;
}

}  // namespace envbuild::registry

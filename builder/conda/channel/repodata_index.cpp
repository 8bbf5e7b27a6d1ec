#include "builder/conda/channel/repodata_index.hpp"

#include <algorithm>
#include <mutex>
#include <optional>
#include <set>
#include <unordered_set>

#include "builder/conda/channel/json_cursor.hpp"
#include "builder/conda/channel/repodata_record.hpp"
#include "registry/error.hpp"
#include "registry/parallel.hpp"

namespace envbuild::builder::conda {
namespace {

constexpr int64_t kMaxRepodataVersion = 2;

using Clock = std::chrono::steady_clock;

std::string scheme_of(std::string_view url) {
  size_t colon = url.find("://");
  return colon == std::string_view::npos ? "" : std::string(url.substr(0, colon));
}

// RFC 3986 section 5.2.4 on a path.
std::string remove_dot_segments(std::string_view path) {
  std::vector<std::string_view> out;
  size_t i = 0;
  bool absolute = !path.empty() && path[0] == '/';
  while (i <= path.size()) {
    size_t next = path.find('/', i);
    std::string_view segment =
        path.substr(i, next == std::string_view::npos ? path.npos : next - i);
    if (segment == "..") {
      if (!out.empty()) out.pop_back();
    } else if (segment != "." && !(segment.empty() && next != std::string_view::npos)) {
      out.push_back(segment);
    }
    if (next == std::string_view::npos) break;
    i = next + 1;
  }
  std::string joined = absolute ? "/" : "";
  for (size_t k = 0; k < out.size(); ++k) {
    if (k > 0) joined += '/';
    joined += out[k];
  }
  return joined;
}

std::string stem_of(std::string_view filename) {
  if (filename.ends_with(".conda")) return std::string(filename.substr(0, filename.size() - 6));
  if (filename.ends_with(".tar.bz2")) return std::string(filename.substr(0, filename.size() - 8));
  return std::string(filename);
}

}  // namespace

std::string resolve_repodata_base_url(const std::string& repodata_url,
                                      const std::string& base_url) {
  auto refuse = [&](const std::string& why) -> std::string {
    throw Error(ErrorKind::BadInput, repodata_url + ": info.base_url '" + base_url + "' " + why);
  };
  if (base_url.find_first_of("?#") != std::string::npos) refuse("has a query or fragment");
  for (unsigned char c : base_url) {
    if (c <= 0x20 || c >= 0x7f) refuse("holds spaces or non-ASCII bytes");
  }
  const std::string own_scheme = scheme_of(repodata_url);
  const size_t own_authority = own_scheme.size() + 3;
  const size_t own_path = repodata_url.find('/', own_authority);
  const std::string origin = repodata_url.substr(0, own_path);
  std::string resolved;
  if (base_url.find("://") != std::string::npos) {
    resolved = base_url;
  } else if (base_url.starts_with("//")) {
    resolved = own_scheme + ":" + base_url;
  } else if (base_url.starts_with("/")) {
    resolved = origin + base_url;
  } else {
    resolved = repodata_url.substr(0, repodata_url.rfind('/') + 1) + base_url;
  }
  std::string scheme = scheme_of(resolved);
  if (scheme != "https" && scheme != own_scheme) {
    refuse("points to a scheme other than https or the channel's own");
  }
  size_t authority = scheme.size() + 3;
  size_t path_start = resolved.find('/', authority);
  std::string head = resolved.substr(0, path_start);
  if (scheme != "file" && head.size() <= authority) refuse("has no host");
  std::string path =
      path_start == std::string::npos ? "/" : remove_dot_segments(resolved.substr(path_start));
  if (path.empty() || path.back() != '/') path += '/';
  return head + path;
}

// One document with its index, and what parsing learned about it.
struct RepodataIndex::Loaded {
  RepodataDocument doc;
  ScannedRepodata scanned;
  std::string url_base;  // ends with '/'
  size_t malformed = 0;
  std::string first_problem;
};

RepodataIndex::RepodataIndex(const std::vector<Channel>& channels,
                             const RepodataIndexOptions& options) {
  if (!is_valid_subdir(options.subdir)) {
    throw Error(ErrorKind::BadInput, "'" + options.subdir + "' is not a conda subdir");
  }
  std::vector<std::string> subdirs = {options.subdir};
  if (options.include_noarch && options.subdir != "noarch") subdirs.push_back("noarch");

  struct Task {
    size_t channel;
    std::string subdir;
    FetchedRepodata fetched;
    std::optional<ScannedRepodata> scanned;
    std::chrono::nanoseconds scan_time{0};
  };
  std::vector<Task> tasks;
  for (size_t c = 0; c < channels.size(); ++c) {
    for (const std::string& s : subdirs) tasks.push_back(Task{c, s, {}, std::nullopt, {}});
  }
  // The tasks run on several threads; the caller's log sees one line at a time.
  RepodataFetchOptions fetch_options = options.fetch;
  std::mutex log_mutex;
  if (options.fetch.log) {
    fetch_options.log = [&log_mutex, &options](const std::string& line) {
      std::lock_guard<std::mutex> hold(log_mutex);
      options.fetch.log(line);
    };
  }
  auto started = Clock::now();
  registry::run_parallel(tasks.size(), std::max<size_t>(1, options.parallel), [&](size_t i) {
    Task& t = tasks[i];
    // A fetcher per task: fetchers are not shared across threads.
    RepodataFetcher fetcher(fetch_options);
    const Channel& channel = channels[t.channel];
    t.fetched = fetcher.fetch(channel, t.subdir);
    if (t.fetched.missing) return;
    auto scan_started = Clock::now();
    try {
      t.scanned = scan_repodata(t.fetched.body->view());
    } catch (const JsonSyntaxError& e) {
      fetcher.forget(channel, t.subdir);
      throw Error(ErrorKind::BadInput,
                  t.fetched.variant_url + ": malformed repodata JSON: " + e.what());
    }
    t.scan_time = Clock::now() - scan_started;
    // The index holds offsets only; the bytes come back when parsed.
    t.fetched.body->release_pages();
  });
  stats_.fetch_time = Clock::now() - started;

  for (size_t c = 0; c < channels.size(); ++c) {
    bool any = false;
    for (const Task& t : tasks) any = any || (t.channel == c && !t.fetched.missing);
    if (!any) {
      std::string which = subdirs.size() == 1 ? subdirs[0] : subdirs[0] + " or " + subdirs[1];
      throw Error(ErrorKind::NotFound, "channel '" + channels[c].name + "' (" +
                                           channels[c].base_url + ") has no repodata for " + which);
    }
  }
  for (Task& t : tasks) {
    FetchedRepodata summary = t.fetched;
    summary.body.reset();
    if (!t.fetched.warning.empty()) notes_.push_back(t.fetched.warning);
    fetched_.push_back(summary);
    if (t.fetched.missing) continue;
    stats_.scan_time += t.scan_time;
    RepodataDocument d;
    d.channel = channels[t.channel];
    d.priority = static_cast<int>(t.channel);
    d.subdir = t.subdir;
    d.url = t.fetched.url;
    d.body = std::move(t.fetched.body);
    add(std::move(d), std::move(*t.scanned));
  }
  count_names();
}

RepodataIndex::RepodataIndex(std::vector<RepodataDocument> documents) {
  for (RepodataDocument& d : documents) {
    auto started = Clock::now();
    ScannedRepodata scanned;
    try {
      scanned = scan_repodata(d.body->view());
    } catch (const JsonSyntaxError& e) {
      throw Error(ErrorKind::BadInput, d.url + ": malformed repodata JSON: " + e.what());
    }
    stats_.scan_time += Clock::now() - started;
    add(std::move(d), std::move(scanned));
  }
  count_names();
}

RepodataIndex::~RepodataIndex() = default;

void RepodataIndex::add(RepodataDocument document, ScannedRepodata scanned) {
  if (scanned.repodata_version > kMaxRepodataVersion) {
    throw Error(ErrorKind::BadInput, document.url + ": repodata_version " +
                                         std::to_string(scanned.repodata_version) +
                                         " is newer than this envbuild reads (" +
                                         std::to_string(kMaxRepodataVersion) + ")");
  }
  auto loaded = std::make_unique<Loaded>();
  loaded->url_base = scanned.base_url.empty()
                         ? document.channel.base_url + "/" + document.subdir + "/"
                         : resolve_repodata_base_url(document.url, scanned.base_url);
  stats_.documents += 1;
  stats_.bytes += document.body->view().size();
  stats_.records += scanned.entries.size();
  stats_.malformed += scanned.malformed;
  loaded->malformed = scanned.malformed;
  if (scanned.malformed > 0) loaded->first_problem = "a record without a usable name or key";
  loaded->doc = std::move(document);
  loaded->scanned = std::move(scanned);
  docs_.push_back(std::move(loaded));
}

void RepodataIndex::count_names() {
  std::unordered_set<std::string_view> all;
  for (const auto& d : docs_) {
    for (const auto& [n, g] : d->scanned.name_to_group) all.insert(n);
  }
  stats_.names = all.size();
}

void RepodataIndex::parse_document(Loaded& d, const std::string& name,
                                   std::vector<PackageRecord>& out) {
  auto group = d.scanned.name_to_group.find(name);
  if (group == d.scanned.name_to_group.end()) return;
  const std::string_view text = d.doc.body->view();
  std::vector<PackageRecord> records;
  std::unordered_map<std::string, size_t> by_filename;
  auto skip = [&](const std::string& filename, const std::string& why) {
    ++d.malformed;
    ++stats_.malformed;
    if (d.first_problem.empty()) d.first_problem = filename + ": " + why;
  };
  for (uint32_t k = d.scanned.group_start[group->second];
       k < d.scanned.group_start[group->second + 1]; ++k) {
    const RepodataEntry& e = d.scanned.entries[d.scanned.group_entries[k]];
    std::string filename(d.scanned.raw_key(text, e));
    if ((e.flags & RepodataEntry::kKeyEscaped) != 0) {
      std::string decoded;
      if (!decode_json_string(filename, decoded)) {
        skip(filename, "bad escape in the filename");
        continue;
      }
      filename = std::move(decoded);
    }
    if (d.scanned.removed.count(filename) != 0) {
      ++stats_.removed;
      continue;
    }
    RecordContext context;
    context.filename = filename;
    context.conda_format = (e.flags & RepodataEntry::kConda) != 0;
    context.subdir = d.doc.subdir;
    context.channel = d.doc.channel.base_url;
    context.url_base = d.url_base;
    context.channel_priority = d.doc.priority;
    context.document_offset = e.value_offset;
    RecordParseResult parsed;
    try {
      parsed = parse_repodata_record(text.substr(e.value_offset, e.value_length), context);
    } catch (const JsonSyntaxError& ex) {
      // The first pass checked the syntax; only a changed file gets here.
      throw Error(ErrorKind::BadInput, d.doc.url + ": malformed repodata JSON: " + ex.what());
    }
    ++stats_.parsed;
    if (!parsed.record) {
      skip(filename, parsed.problem);
      continue;
    }
    if (parsed.record->name != name) {
      skip(filename, "its name differs from the one indexed");
      continue;
    }
    auto [it, inserted] = by_filename.try_emplace(filename, records.size());
    if (inserted) {
      records.push_back(std::move(*parsed.record));
    } else {
      records[it->second] = std::move(*parsed.record);  // a repeated key: the last wins
    }
  }
  std::unordered_map<std::string, bool> has_conda;
  for (const PackageRecord& r : records) {
    if (r.filename.ends_with(".conda")) has_conda[stem_of(r.filename)] = true;
  }
  for (PackageRecord& r : records) {
    if (r.filename.ends_with(".tar.bz2") && has_conda.count(stem_of(r.filename)) != 0) {
      ++stats_.superseded;
      continue;
    }
    out.push_back(std::move(r));
  }
}

const std::vector<PackageRecord>& RepodataIndex::candidates(const std::string& name) {
  auto it = parsed_.find(name);
  if (it != parsed_.end()) return it->second;
  std::vector<PackageRecord> out;
  for (auto& d : docs_) parse_document(*d, name, out);
  return parsed_.emplace(name, std::move(out)).first->second;
}

std::vector<std::string> RepodataIndex::warnings() const {
  std::vector<std::string> out = notes_;
  for (const auto& d : docs_) {
    if (d->malformed == 0) continue;
    out.push_back(std::to_string(d->malformed) + " malformed record(s) skipped in " + d->doc.url +
                  " (first: " + d->first_problem + ")");
  }
  return out;
}

std::vector<std::string> RepodataIndex::names() const {
  std::set<std::string> all;
  for (const auto& d : docs_) {
    for (const auto& [n, g] : d->scanned.name_to_group) all.emplace(n);
  }
  return {all.begin(), all.end()};
}

}  // namespace envbuild::builder::conda

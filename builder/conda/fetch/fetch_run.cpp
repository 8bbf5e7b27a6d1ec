#include "builder/conda/fetch/fetch_run.hpp"

#include <algorithm>
#include <cstdint>
#include <iostream>
#include <map>

#include "builder/conda/fetch/cache_check.hpp"
#include "builder/conda/fetch/display_url.hpp"
#include "builder/conda/fetch/local_archive.hpp"
#include "builder/conda/fetch/partial_file.hpp"
#include "builder/conda/fetch/url_policy.hpp"
#include "builder/conda/fetch/verification_marker.hpp"
#include "registry/error.hpp"

namespace envbuild::builder::conda {
namespace {

// How long one step of the download loop may wait for network activity, and
// how often packages locked by another process are tried again meanwhile.
constexpr std::chrono::milliseconds kStepWait{200};
constexpr std::chrono::milliseconds kBusyRetry{250};
constexpr std::chrono::milliseconds kReportEvery{100};

}  // namespace

FetchRun::FetchRun(const std::filesystem::path& dir, const std::vector<PackageRecord>& records,
                   const FetchOptions& options)
    : dir_(dir), options_(options) {
  std::map<std::filesystem::path, size_t> by_archive;
  entry_of_.reserve(records.size());
  for (const PackageRecord& record : records) {
    if (record.url.empty()) {
      if (!record.is_virtual()) {
        throw Error(ErrorKind::BadInput, "package " + record.dist_name() + " has no URL");
      }
      entry_of_.push_back(SIZE_MAX);
      continue;
    }
    CachePaths paths = cache_paths(dir_, record);
    if (auto it = by_archive.find(paths.archive); it != by_archive.end()) {
      entry_of_.push_back(it->second);
      continue;
    }
    Entry e;
    e.record = record;
    e.paths = std::move(paths);
    e.what = "package " + archive_file_name(record);
    e.shown = display_url(record.url);
    if (parse_package_url(record.url).kind == UrlKind::File) {
      e.local = file_url_path(record.url);
    } else {
      check_url_allowed(record.url, options_.download.insecure_hosts, e.what);
    }
    e.missing = !is_vouched(e.paths, e.record);
    if (e.missing) {
      e.planned = record.size;
      total_ += record.size;
    }
    by_archive.emplace(e.paths.archive, entries_.size());
    entry_of_.push_back(entries_.size());
    entries_.push_back(std::move(e));
  }
}

std::vector<FetchResult> FetchRun::results() const {
  std::vector<FetchResult> out;
  out.reserve(entry_of_.size());
  for (size_t i : entry_of_) {
    if (i == SIZE_MAX) {
      out.push_back({});
    } else {
      out.push_back({entries_[i].paths.archive, entries_[i].downloaded});
    }
  }
  return out;
}

DownloadPool& FetchRun::pool() {
  // Created on first need: a fetch from file:// channels never loads libcurl.
  if (!pool_) {
    pool_ = std::make_unique<DownloadPool>(options_.download);
  }
  return *pool_;
}

bool FetchRun::has_room() const { return !pool_ || pool_->has_room(); }

void FetchRun::run() {
  std::deque<size_t> queue;
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (entries_[i].missing) queue.push_back(i);
  }
  if (queue.empty()) return;
  std::filesystem::create_directories(dir_);
  remove_abandoned(dir_);
  report(true);

  std::vector<size_t> busy;  // locked by someone else when last tried
  auto busy_tried = Clock::now();
  for (;;) {
    while (!queue.empty() && has_room()) {
      size_t i = queue.front();
      queue.pop_front();
      if (auto lock = registry::FileLock::try_acquire(entries_[i].paths.lock)) {
        begin(entries_[i], std::move(*lock));
      } else {
        busy.push_back(i);
      }
    }
    if (pool_ && pool_->active() > 0) {
      for (const DownloadDone& done : pool_->step(kStepWait)) complete(done);
      report(false);
      if (!busy.empty() && Clock::now() - busy_tried >= kBusyRetry) {
        queue.insert(queue.end(), busy.begin(), busy.end());
        busy.clear();
        busy_tried = Clock::now();
      }
      continue;
    }
    if (queue.empty() && busy.empty()) break;
    if (queue.empty()) {
      // Nothing of ours is running and everything left is being fetched by
      // someone else: wait for one of them, holding no lock ourselves.
      size_t i = busy.front();
      busy.erase(busy.begin());
      begin(entries_[i], registry::FileLock::acquire(entries_[i].paths.lock));
      queue.insert(queue.end(), busy.begin(), busy.end());
      busy.clear();
    }
  }
  // One syncfs for the whole fetch instead of fsyncs per archive and marker
  // (partial_file.hpp): the archives are durable before anyone builds an
  // image from them.
  sync_filesystem(dir_);
  report(true);
}

void FetchRun::begin(Entry& e, registry::FileLock lock) {
  if (is_vouched(e.paths, e.record)) return settled(e, false);
  switch (verify_in_place(e.paths, e.record)) {
    case InPlace::Verified:
      return settled(e, false);
    case InPlace::Corrupt:
      if (options_.download.verbose) {
        std::cerr << "envbuild: cached " << e.paths.archive.filename().string()
                  << " does not match its record; fetching it again\n";
      }
      break;
    case InPlace::Missing:
      break;
  }
  if (e.local) {
    LocalPlacement placed = place_local_archive(*e.local, e.paths, e.record, e.what, e.shown);
    write_marker(e.paths.marker, placed.marker);
    if (options_.download.verbose) {
      std::cerr << "envbuild: " << (placed.hardlinked ? "linked " : "copied ") << e.shown << "\n";
    }
    return settled(e, true);
  }
  e.lock = std::move(lock);
  e.sink = std::make_unique<ArchiveSink>(e.record, e.paths.archive, e.what, e.shown);
  size_t id = static_cast<size_t>(&e - entries_.data());
  downloading_.push_back(id);
  const std::string url = options_.request_url ? options_.request_url(e.record.url) : e.record.url;
  pool().add({id, url, e.what, e.sink.get()});
}

void FetchRun::complete(const DownloadDone& done) {
  Entry& e = entries_[done.id];
  if (done.error) std::rethrow_exception(done.error);
  VerificationMarker marker = e.sink->commit();
  write_marker(e.paths.marker, marker);
  settled(e, true);
}

void FetchRun::settled(Entry& e, bool downloaded) {
  e.downloaded = downloaded;
  account(e);
  credit(e, e.planned);
  std::erase(downloading_, static_cast<size_t>(&e - entries_.data()));
  e.sink.reset();
  e.lock.reset();  // last: the archive and its marker are in place
  report(false);
}

void FetchRun::account(Entry& e) {
  // A record without a size joins the total once its length is known.
  if (e.planned == 0 && e.sink && e.sink->expected_length() != 0) {
    e.planned = e.sink->expected_length();
    total_ += e.planned;
  }
}

void FetchRun::credit(Entry& e, uint64_t bytes) {
  // Never backwards, even when a retry starts the file over.
  bytes = std::min(bytes, e.planned);
  if (bytes > e.credited) {
    done_ += bytes - e.credited;
    e.credited = bytes;
  }
}

void FetchRun::report(bool force) {
  if (!options_.progress) return;
  for (size_t i : downloading_) {
    Entry& e = entries_[i];
    account(e);
    credit(e, e.sink->bytes());
  }
  if (done_ == last_done_ && total_ == last_total_) return;
  auto now = Clock::now();
  if (!force && now - last_report_ < kReportEvery && done_ != total_) return;
  last_done_ = done_;
  last_total_ = total_;
  last_report_ = now;
  options_.progress(done_, total_);
}

}  // namespace envbuild::builder::conda

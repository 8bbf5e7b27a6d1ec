#include "snapshot/git_metadata.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <memory>

#include "snapshot/git_dirty.hpp"
#include "snapshot/git_library.hpp"
#include "snapshot/git_worktree.hpp"

namespace envbuild::snapshot {

namespace {

namespace fs = std::filesystem;

// libgit2's init is reference counted: one guard per call keeps no state of
// ours alive between calls.
struct LibGit2 {
  LibGit2() { git_library().libgit2_init(); }
  ~LibGit2() { git_library().libgit2_shutdown(); }
  LibGit2(const LibGit2&) = delete;
  LibGit2& operator=(const LibGit2&) = delete;
};

using Repo = GitPtr<git_repository, &GitLibrary::repository_free>;
using Ref = GitPtr<git_reference, &GitLibrary::reference_free>;
using Remote = GitPtr<git_remote, &GitLibrary::remote_free>;
using StatusList = GitPtr<git_status_list, &GitLibrary::status_list_free>;
using Object = GitPtr<git_object, &GitLibrary::object_free>;

std::string last_error() {
  const git_error* e = git_library().error_last();
  return e && e->message ? e->message : "unknown libgit2 error";
}

void set_pair(GitMetadata& m, const std::string& azureml, const char* mlflow,
              const std::string& value) {
  m.properties["azureml.git." + azureml] = value;
  if (mlflow) m.properties[std::string("mlflow.source.git.") + mlflow] = value;
}

std::optional<std::string> remote_url(git_repository* repo) {
  git_remote* raw = nullptr;
  if (git_library().remote_lookup(&raw, repo, "origin") != 0) {
    git_strarray names{};
    if (git_library().remote_list(&names, repo) != 0) return std::nullopt;
    std::vector<std::string> sorted(names.strings, names.strings + names.count);
    git_library().strarray_dispose(&names);
    std::sort(sorted.begin(), sorted.end());
    if (sorted.empty() || git_library().remote_lookup(&raw, repo, sorted.front().c_str()) != 0)
      return std::nullopt;
  }
  Remote remote(raw);
  const char* url = git_library().remote_url(remote.get());
  if (url == nullptr) return std::nullopt;
  return strip_url_credentials(url);
}

void read_head(git_repository* repo, GitMetadata& m) {
  git_reference* raw = nullptr;
  int rc = git_library().repository_head(&raw, repo);
  if (rc == GIT_EUNBORNBRANCH) {
    // HEAD names a branch with no commit yet: record the branch only.
    git_reference* head = nullptr;
    if (git_library().reference_lookup(&head, repo, "HEAD") == 0) {
      Ref h(head);
      if (const char* target = git_library().reference_symbolic_target(h.get())) {
        std::string t = target;
        const std::string prefix = "refs/heads/";
        if (t.compare(0, prefix.size(), prefix) == 0) t.erase(0, prefix.size());
        set_pair(m, "branch", "branch", t);
      }
    }
    return;
  }
  if (rc != 0) {
    m.warnings.push_back("cannot read HEAD: " + last_error());
    m.cacheable = false;
    return;
  }
  Ref head(raw);
  if (!git_library().repository_head_detached(repo))
    set_pair(m, "branch", "branch", git_library().reference_shorthand(head.get()));
  git_object* obj = nullptr;
  if (git_library().reference_peel(&obj, head.get(), GIT_OBJECT_COMMIT) == 0) {
    Object commit(obj);
    char hex[GIT_OID_HEXSZ + 1] = {};
    git_library().oid_tostr(hex, sizeof hex, git_library().object_id(commit.get()));
    set_pair(m, "commit", "commit", hex);
  } else {
    m.warnings.push_back("cannot resolve HEAD to a commit: " + last_error());
    m.cacheable = false;  // a missing object is not in the fingerprint
  }
}

// Tracked changes or untracked, non-ignored files under `dir` only.
void read_dirty(git_repository* repo, const fs::path& dir, GitMetadata& m) {
  const char* workdir = git_library().repository_workdir(repo);
  if (workdir == nullptr) return;  // bare
  std::optional<std::string> prefix = work_tree_prefix(workdir, dir);
  if (!prefix) {
    m.warnings.push_back("cannot place " + dir.string() + " in the git work tree " + workdir);
    return;
  }
  std::string spec = *prefix;
  git_status_options opts = GIT_STATUS_OPTIONS_INIT;
  opts.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR;
  // The folder is a literal path: a name like "s*" must not match "sx".
  opts.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED | GIT_STATUS_OPT_DISABLE_PATHSPEC_MATCH;
  char* specs[1] = {spec.data()};
  if (!spec.empty()) {
    opts.pathspec.strings = specs;
    opts.pathspec.count = 1;
  }
  git_status_list* raw = nullptr;
  if (git_library().status_list_new(&raw, repo, &opts) != 0) {
    m.warnings.push_back("cannot compute git status: " + last_error());
    return;
  }
  StatusList list(raw);
  m.properties["azureml.git.dirty"] =
      git_library().status_list_entrycount(list.get()) > 0 ? "true" : "false";
}

// git refuses repositories owned by someone else unless safe.directory
// lists them (CVE-2022-24765); we follow it rather than libgit2, whose check
// varies across versions.
bool owned_by_other(const fs::path& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && st.st_uid != ::geteuid();
}

bool listed_as_safe(const std::string& workdir) {
  git_config* raw = nullptr;
  if (git_library().config_open_default(&raw) != 0) return false;
  GitPtr<git_config, &GitLibrary::config_free> cfg(raw);
  git_config_iterator* it = nullptr;
  if (git_library().config_multivar_iterator_new(&it, cfg.get(), "safe.directory", nullptr) != 0)
    return false;
  bool safe = false;
  git_config_entry* entry = nullptr;
  while (git_library().config_next(&entry, it) == 0) {
    std::string v = entry->value ? entry->value : "";
    while (v.size() > 1 && v.back() == '/') v.pop_back();
    if (v.empty())
      safe = false;  // an empty value resets the list, as in git
    else if (v == "*" || v == workdir)
      safe = true;
  }
  git_library().config_iterator_free(it);
  return safe;
}

std::optional<std::string> foreign_owner(git_repository* repo) {
  const char* wd = git_library().repository_workdir(repo);
  std::string workdir = wd ? wd : git_library().repository_path(repo);
  while (workdir.size() > 1 && workdir.back() == '/') workdir.pop_back();
  for (const std::string& path : {workdir, std::string(git_library().repository_path(repo))}) {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && st.st_uid != ::geteuid()) {
      if (listed_as_safe(workdir)) return std::nullopt;
      return workdir;
    }
  }
  return std::nullopt;
}

}  // namespace

void apply_git_overrides(GitMetadata& m, const EnvLookup& env) {
  auto get = [&](const char* name) -> std::optional<std::string> {
    auto v = env(name);
    if (v && !v->empty()) return v;
    return std::nullopt;
  };
  if (auto v = get("AZUREML_GIT_REPOSITORY_URI"))
    set_pair(m, "repository_uri", "repoURL", strip_url_credentials(*v));
  if (auto v = get("AZUREML_GIT_BRANCH")) set_pair(m, "branch", "branch", *v);
  if (auto v = get("AZUREML_GIT_COMMIT")) set_pair(m, "commit", "commit", *v);
  if (auto v = get("AZUREML_GIT_DIRTY")) m.properties["azureml.git.dirty"] = *v;
  if (auto v = get("AZUREML_GIT_BUILD_ID")) m.properties["azureml.git.build_id"] = *v;
  if (auto v = get("AZUREML_GIT_BUILD_URI")) m.properties["azureml.git.build_uri"] = *v;
}

EnvLookup process_env() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

std::string strip_url_credentials(const std::string& url) {
  size_t scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  size_t start = scheme + 3;
  size_t end = url.find_first_of("/?#", start);
  if (end == std::string::npos) end = url.size();
  size_t at = url.rfind('@', end - 1);
  if (at == std::string::npos || at < start || end == start) return url;
  return url.substr(0, start) + url.substr(at + 1);
}

GitMetadata read_git_metadata(const fs::path& dir, const EnvLookup& env, const WalkResult* walk) {
  GitMetadata m = read_repository_metadata(dir, walk);
  apply_git_overrides(m, env);
  return m;
}

GitMetadata read_repository_metadata(const fs::path& dir, const WalkResult* walk) {
  GitMetadata m;
  LibGit2 lib;
  git_repository* raw = nullptr;
  int rc = git_library().repository_open_ext(&raw, dir.c_str(), 0, nullptr);
  std::optional<WorkTree> around;
  if (rc == GIT_EOWNER || rc == GIT_ENOTFOUND) around = find_work_tree(fs::absolute(dir));
  if (around && (rc == GIT_EOWNER || owned_by_other(around->root))) {
    // libgit2 1.5 reports a refused owner as GIT_ENOTFOUND ("config value
    // 'safe.directory' was not found"), so the owner is checked here.
    std::string wt = around->root.string();
    m.warnings.push_back("git metadata not recorded: the repository " + wt +
                         " is owned by another user (mark it safe with: git config --global "
                         "--add safe.directory " +
                         wt + ")");
  } else if (rc != 0 && rc != GIT_ENOTFOUND) {
    m.warnings.push_back("git metadata not recorded: " + last_error());
    m.cacheable = false;  // whatever went wrong may not show in the fingerprint
  } else if (rc == 0) {
    Repo repo(raw);
    if (auto owner = foreign_owner(repo.get())) {
      m.warnings.push_back("git metadata not recorded: the repository " + *owner +
                           " is owned by another user (mark it safe with: git config --global "
                           "--add safe.directory " +
                           *owner + ")");
      return m;
    }
    if (auto url = remote_url(repo.get())) set_pair(m, "repository_uri", "repoURL", *url);
    read_head(repo.get(), m);
    if (walk != nullptr) {
      std::string problem;
      DirtyEvidence evidence;
      std::optional<bool> dirty = dirty_from_walk(repo.get(), dir, *walk, problem, &evidence);
      if (dirty)
        m.properties["azureml.git.dirty"] = *dirty ? "true" : "false";
      else
        m.warnings.push_back(problem);
      m.cacheable = dirty.has_value() && !evidence.submodules;
      m.tracked_outside_walk = std::move(evidence.tracked_outside_walk);
    } else {
      read_dirty(repo.get(), dir, m);
      m.cacheable = false;  // no walk: nothing ties the answer to a tree
    }
  }
  return m;
}

}  // namespace envbuild::snapshot

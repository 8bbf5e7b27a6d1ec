// snapshot ls, snapshot show ID
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/snapshot/commands.hpp"
#include "snapshot/snapshot_read.hpp"

namespace envbuild::cli {

namespace {

const char* type_name(snapshot::EntryType t) {
  switch (t) {
    case snapshot::EntryType::File:
      return "file";
    case snapshot::EntryType::Symlink:
      return "symlink";
    case snapshot::EntryType::Directory:
      return "directory";
  }
  return "?";
}

std::string annotation(const std::map<std::string, std::string>& a, const std::string& key) {
  auto it = a.find(key);
  return it == a.end() ? std::string() : it->second;
}

nlohmann::ordered_json file_json(const snapshot::SnapshotFile& f) {
  nlohmann::ordered_json j;
  j["path"] = f.path;
  j["type"] = type_name(f.type);
  if (f.type == snapshot::EntryType::File) {
    j["executable"] = f.executable;
    j["size"] = f.size;
    j["sha256"] = f.sha256.str();
  }
  if (f.type == snapshot::EntryType::Symlink) j["target"] = f.link_target;
  return j;
}

}  // namespace

Command add_ls_command(CLI::App& root, const GlobalFlags& flags) {
  auto* app = root.add_subcommand("ls", "List the snapshots in a store");
  auto from = std::make_shared<std::string>();
  add_from_option(*app, *from);
  return {app, [from, &flags]() -> int {
            registry::StoreLocation loc = open_snapshot_store(*from, flags);
            auto list = snapshot::list_snapshots(*loc.store);
            if (flags.json) {
              nlohmann::ordered_json j = nlohmann::ordered_json::array();
              for (const auto& s : list) {
                nlohmann::ordered_json o;
                o["id"] = s.id.str();
                o["tag"] = s.tag;
                o["annotations"] = s.annotations;
                j.push_back(o);
              }
              std::cout << j.dump() << "\n";
              return 0;
            }
            for (const auto& s : list) {
              std::string commit = annotation(s.annotations, "azureml.git.commit").substr(0, 12);
              std::string branch = annotation(s.annotations, "azureml.git.branch");
              std::cout << s.id.str() << "  " << s.tag;
              if (!commit.empty()) std::cout << "  " << commit;
              if (!branch.empty()) std::cout << " (" << branch << ")";
              std::cout << "\n";
            }
            return 0;
          }};
}

Command add_show_command(CLI::App& root, const GlobalFlags& flags) {
  auto* app = root.add_subcommand("show", "Show a snapshot's files and git metadata");
  struct Args {
    std::string id;
    std::string from;
  };
  auto args = std::make_shared<Args>();
  app->add_option("ID", args->id, "Snapshot id (sha256:..., a unique prefix, or a tag)")
      ->required();
  add_from_option(*app, args->from);
  return {app, [args, &flags]() -> int {
            registry::StoreLocation loc = open_snapshot_store(args->from, flags);
            snapshot::SnapshotInfo info = snapshot::read_snapshot(*loc.store, args->id);
            if (flags.json) {
              nlohmann::ordered_json j;
              j["id"] = info.id.str();
              j["annotations"] = info.annotations;
              j["total_bytes"] = info.total_bytes;
              nlohmann::ordered_json files = nlohmann::ordered_json::array();
              for (const auto& f : info.files) files.push_back(file_json(f));
              j["files"] = files;
              std::cout << j.dump() << "\n";
              return 0;
            }
            std::cout << "id " << info.id.str() << "\n";
            for (const auto& [k, v] : info.annotations) std::cout << k << ": " << v << "\n";
            std::cout << "\n";
            for (const auto& f : info.files) {
              switch (f.type) {
                case snapshot::EntryType::File:
                  std::printf("%s %12llu  %s\n", f.executable ? "-rwxr-xr-x" : "-rw-r--r--",
                              static_cast<unsigned long long>(f.size), f.path.c_str());
                  break;
                case snapshot::EntryType::Symlink:
                  std::printf("lrwxrwxrwx %12s  %s -> %s\n", "", f.path.c_str(),
                              f.link_target.c_str());
                  break;
                case snapshot::EntryType::Directory:
                  std::printf("drwxr-xr-x %12s  %s/\n", "", f.path.c_str());
                  break;
              }
            }
            std::fflush(stdout);
            return 0;
          }};
}

}  // namespace envbuild::cli

#include "cli/snapshot/commands.hpp"
#include "registry/layout_store.hpp"

namespace envbuild::cli {

registry::StoreLocation open_snapshot_store(const std::string& where, const GlobalFlags& flags) {
  if (!where.empty()) return registry::open_location(where, flags.location_options());
  registry::StoreLocation loc;
  loc.store = std::make_unique<registry::LayoutStore>(flags.local_store_dir());
  loc.display = "local store " + flags.local_store_dir().string();
  return loc;
}

void add_from_option(CLI::App& app, std::string& from) {
  app.add_option("--from", from,
                 "Store to read: oci:DIR, HOST/REPO or local:NAME (default: the local store)");
}

}  // namespace envbuild::cli

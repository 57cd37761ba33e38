// The agent's outbox log as a power cut or a bad disk leaves it: any bytes are opened (torn or
// corrupt records counted and skipped), and what is pending can be confirmed.
#include "fuzz_target.h"

#include "gridwatch/agent/outbox.h"

namespace {

class MemoryLog : public gridwatch::agent::OutboxLog {
 public:
  explicit MemoryLog(std::string bytes) : bytes_(std::move(bytes)) {}
  gridwatch::Status append(std::string_view bytes, bool) override {
    bytes_.append(bytes);
    return {};
  }
  gridwatch::Result<std::string> read_all() override { return bytes_; }
  gridwatch::Status replace(std::string_view bytes) override {
    bytes_.assign(bytes);
    return {};
  }

 private:
  std::string bytes_;
};

}  // namespace

GW_FUZZ_TARGET(outbox_log) {
  using namespace gridwatch;
  auto box = agent::Outbox::open(std::make_unique<MemoryLog>(std::string(fuzz::text(data, size))), {.sync = false});
  if (!box) return 0;
  (void)(*box)->stats();
  (void)agent::parse_confirmation(fuzz::text(data, size));
  return 0;
}

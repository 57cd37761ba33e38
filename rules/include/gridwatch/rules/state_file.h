// Rule states on disk, so that a restart neither forgets an open episode nor delays a duration:
//
//   DIR/rules-state.json     the engine's snapshot, replaced atomically (write, fsync, rename)
//   DIR/rules-journal.jsonl  every input accepted since that snapshot, one JSON line each, with
//                            the clock's time when it arrived
//
// recover() loads the snapshot and re-offers the journal in order, so the engine ends where it
// was; intents produced again by the replay carry the same episode ids (the center stores an
// event once). checkpoint() writes a new snapshot and empties the journal. Journal lines are
// written without fsync (a crashed process loses nothing the kernel has; a power cut may lose the
// last lines); a torn last line is skipped with a warning.
#pragma once

#include <sys/types.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "gridwatch/domain/error.h"
#include "gridwatch/rules/engine.h"

namespace gridwatch::rules {

struct Recovery {
  bool had_snapshot = false;
  size_t journal_inputs = 0;
  std::vector<Intent> intents;  // produced while replaying the journal
  std::vector<std::string> warnings;
};

class StateFile {
 public:
  explicit StateFile(std::filesystem::path dir);
  ~StateFile();
  StateFile(const StateFile&) = delete;
  StateFile& operator=(const StateFile&) = delete;

  // Starts `engine` (do not call Engine::start yourself) and restores it from the files: the
  // snapshot, then the journal's inputs; none: a fresh start at `now`. Without a snapshot the
  // engine starts where the journal begins. A snapshot that cannot be read is moved aside
  // (rules-state.json.bad) with a warning, and the engine starts fresh.
  [[nodiscard]] Result<Recovery> recover(Engine& engine, Timestamp now);
  [[nodiscard]] Status record(const Reading& reading, Timestamp now);
  [[nodiscard]] Status record(const ZoneEvent& event, Timestamp now);
  [[nodiscard]] Status checkpoint(const Engine& engine);

  const std::filesystem::path& snapshot_path() const { return snapshot_; }
  const std::filesystem::path& journal_path() const { return journal_; }

 private:
  Status append(const std::string& line);
  std::filesystem::path dir_, snapshot_, journal_;
  std::FILE* journal_file_ = nullptr;
  off_t journal_size_ = 0;  // the journal's length after its last whole line
};

}  // namespace gridwatch::rules

#pragma once
// Whether an output is systemd's journal. systemd sets JOURNAL_STREAM=<device>:<inode> for a
// service whose stdout or stderr it connected to the journal; a program that finds those numbers
// on its own fd (fstat) may send priority prefixes ("<4>") instead of timestamps, as
// systemd.exec(5) documents. The variable alone proves nothing: it is inherited by children whose
// output went elsewhere (a daemon's log file, a pipe).

namespace cservice::os {

// True when JOURNAL_STREAM names the file `fd` is open on.
bool is_journal_stream(int fd);

}  // namespace cservice::os

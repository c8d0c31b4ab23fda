// Uprobes attached and detached one by one at run time (the TLS probes, per binary file): every process that
// maps the file, now or later (pid -1: the kernel attaches to the file's inode). Links are kept per object
// handle by id and destroyed with their object.
#include "addon.h"

#include <cerrno>
#include <map>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace sextant {
namespace {

struct UprobeLinks {
  std::map<uint32_t, bpf_link *> links;
  uint32_t nextId = 1;
};

std::map<uint32_t, UprobeLinks> byObject;

// (handle, program, binary, func, retprobe, cookie?, offset?): a uprobe (or uretprobe) program on `func` plus
// `offset` bytes, or, with func "", at file offset `offset` (a function without a symbol of its own, found by
// the caller in the ELF file). The cookie is read with bpf_get_attach_cookie. Returns a link id for detachLink.
Napi::Value AttachUprobe(const Napi::CallbackInfo &info) {
  bpf_object *obj = ObjectOf(info);
  uint32_t handle = info[0].As<Napi::Number>().Uint32Value();
  std::string prog = info[1].As<Napi::String>();
  std::string binary = info[2].As<Napi::String>();
  std::string func = info[3].As<Napi::String>();
  bool retprobe = info[4].As<Napi::Boolean>().Value();
  uint64_t cookie = info.Length() > 5 && info[5].IsNumber() ? (uint64_t)info[5].As<Napi::Number>().Int64Value() : 0;
  int64_t offset = info.Length() > 6 && info[6].IsNumber() ? info[6].As<Napi::Number>().Int64Value() : 0;
  if (offset < 0 || (func.empty() && offset == 0)) return ErrnoValue(info.Env(), EINVAL);
  bpf_program *p = bpf_object__find_program_by_name(obj, prog.c_str());
  if (!p) return ErrnoValue(info.Env(), ENOENT);
  if (bpf_program__fd(p) < 0) return ErrnoValue(info.Env(), EBADF);
  LIBBPF_OPTS(bpf_uprobe_opts, opts);
  opts.bpf_cookie = cookie;
  opts.retprobe = retprobe;
  opts.func_name = func.empty() ? nullptr : func.c_str();
  // With a func_name, libbpf adds the symbol's file offset to this one.
  bpf_link *l = bpf_program__attach_uprobe_opts(p, -1, binary.c_str(), (size_t)offset, &opts);
  long err = libbpf_get_error(l);
  if (!l || err) return ErrnoValue(info.Env(), err ? (int)err : errno);
  UprobeLinks &u = byObject[handle];
  uint32_t id = u.nextId++;
  u.links[id] = l;
  return Napi::Number::New(info.Env(), id);
}

Napi::Value DetachLink(const Napi::CallbackInfo &info) {
  ObjectOf(info);
  uint32_t handle = info[0].As<Napi::Number>().Uint32Value();
  uint32_t id = info[1].As<Napi::Number>().Uint32Value();
  auto o = byObject.find(handle);
  if (o == byObject.end()) return ErrnoValue(info.Env(), ENOENT);
  auto it = o->second.links.find(id);
  if (it == o->second.links.end()) return ErrnoValue(info.Env(), ENOENT);
  int err = bpf_link__destroy(it->second);
  o->second.links.erase(it);
  return Napi::Number::New(info.Env(), err < 0 ? err : 0);
}

}  // namespace

void RegisterUprobes(Napi::Env env, Napi::Object exports) {
  exports.Set("attachUprobe", Napi::Function::New(env, AttachUprobe));
  exports.Set("detachLink", Napi::Function::New(env, DetachLink));
}

// Removing a uprobe waits for the kernel's grace periods (~90 ms each on these VMs): one after another, the 16 links
// of node + libssl held a collector's stop for ~1.4 s. One thread per link lets those waits overlap.
void DestroyUprobeLinks(uint32_t handle) {
  auto o = byObject.find(handle);
  if (o == byObject.end()) return;
  std::vector<std::thread> threads;
  for (auto &kv : o->second.links) {
    try {
      threads.emplace_back([l = kv.second] { bpf_link__destroy(l); });
    } catch (const std::system_error &) {
      bpf_link__destroy(kv.second);  // no thread to be had: here, as before
    }
  }
  for (auto &t : threads) t.join();
  byObject.erase(o);
}

}  // namespace sextant

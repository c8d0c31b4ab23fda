// Thin N-API binding over libbpf for Sextant: unpacks arguments, calls libbpf, returns -errno on failure.
// Objects are owned through integer handles; their ring buffers are read by the pollers of ringbuf.cc, their
// uprobes attached by uprobes.cc.
#include "addon.h"
#include "ringbuf.h"

#include <napi.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace {

struct Object {
  bpf_object *obj = nullptr;
  std::vector<bpf_link *> links;
  std::vector<int> cgroupFds;
  sextant::RingPollers pollers;
};

std::vector<std::unique_ptr<Object>> objects;

Object *get(const Napi::CallbackInfo &info, size_t i = 0) {
  uint32_t h = info[i].As<Napi::Number>().Uint32Value();
  if (h >= objects.size() || !objects[h]) {
    throw Napi::Error::New(info.Env(), "invalid BPF object handle");
  }
  return objects[h].get();
}

Napi::Value Errno(Napi::Env env, int err) { return Napi::Number::New(env, err < 0 ? err : -err); }

Napi::Value Open(const Napi::CallbackInfo &info) {
  std::string path = info[0].As<Napi::String>();
  bpf_object *obj = bpf_object__open_file(path.c_str(), nullptr);
  long err = libbpf_get_error(obj);
  if (err) return Errno(info.Env(), (int)err);
  objects.push_back(std::make_unique<Object>());
  objects.back()->obj = obj;
  return Napi::Number::New(info.Env(), objects.size() - 1);
}

// Sets a `const volatile` global in .rodata before load, located through the object's BTF.
Napi::Value SetGlobal(const Napi::CallbackInfo &info) {
  Object *o = get(info);
  std::string name = info[1].As<Napi::String>();
  Napi::Buffer<uint8_t> value = info[2].As<Napi::Buffer<uint8_t>>();
  bpf_map *rodata = nullptr;
  bpf_map *m;
  bpf_object__for_each_map(m, o->obj) {
    const char *n = bpf_map__name(m);
    if (n && strstr(n, ".rodata")) { rodata = m; break; }
  }
  if (!rodata) return Errno(info.Env(), ENOENT);
  btf *b = bpf_object__btf(o->obj);
  if (!b) return Errno(info.Env(), ENODATA);
  int sec = btf__find_by_name_kind(b, ".rodata", BTF_KIND_DATASEC);
  if (sec < 0) return Errno(info.Env(), sec);
  const btf_type *t = btf__type_by_id(b, sec);
  const btf_var_secinfo *vs = btf_var_secinfos(t);
  for (int i = 0; i < btf_vlen(t); i++, vs++) {
    const btf_type *var = btf__type_by_id(b, vs->type);
    if (name != btf__name_by_offset(b, var->name_off)) continue;
    if (value.Length() != vs->size) return Errno(info.Env(), EINVAL);
    size_t size = 0;
    uint8_t *data = (uint8_t *)bpf_map__initial_value(rodata, &size);
    if (!data || vs->offset + vs->size > size) return Errno(info.Env(), EINVAL);
    memcpy(data + vs->offset, value.Data(), vs->size);
    return Napi::Number::New(info.Env(), 0);
  }
  return Errno(info.Env(), ENOENT);
}

Napi::Value Load(const Napi::CallbackInfo &info) {
  return Napi::Number::New(info.Env(), bpf_object__load(get(info)->obj));
}

// Attaches every tracepoint program (classic, raw and BTF-typed raw) from its section name; cgroup programs
// are attached with AttachCgroup, uprobes per file with attachUprobe (uprobes.cc), SEC("syscall") programs only run on
// demand (RunProgram). Returns the number attached.
Napi::Value AttachTracepoints(const Napi::CallbackInfo &info) {
  Object *o = get(info);
  bpf_program *p;
  int n = 0;
  bpf_object__for_each_program(p, o->obj) {
    bpf_prog_type type = bpf_program__type(p);
    bool traced = type == BPF_PROG_TYPE_TRACEPOINT || type == BPF_PROG_TYPE_RAW_TRACEPOINT || type == BPF_PROG_TYPE_TRACING;
    if (!traced || !bpf_program__autoload(p)) continue;
    bpf_link *l = bpf_program__attach(p);
    long err = libbpf_get_error(l);
    if (err) return Errno(info.Env(), (int)err);
    o->links.push_back(l);
    n++;
  }
  return Napi::Number::New(info.Env(), n);
}

// Runs a loaded SEC("syscall") program once (BPF_PROG_TEST_RUN) and returns its return value.
Napi::Value RunProgram(const Napi::CallbackInfo &info) {
  Object *o = get(info);
  std::string prog = info[1].As<Napi::String>();
  bpf_program *p = bpf_object__find_program_by_name(o->obj, prog.c_str());
  if (!p) return Errno(info.Env(), ENOENT);
  int fd = bpf_program__fd(p);
  if (fd < 0) return Errno(info.Env(), EBADF);
  LIBBPF_OPTS(bpf_test_run_opts, opts);
  int err = bpf_prog_test_run_opts(fd, &opts);
  if (err) return Errno(info.Env(), errno ? errno : -err);
  return Napi::Number::New(info.Env(), opts.retval);
}

Napi::Value AttachCgroup(const Napi::CallbackInfo &info) {
  Object *o = get(info);
  std::string prog = info[1].As<Napi::String>();
  std::string path = info[2].As<Napi::String>();
  bpf_program *p = bpf_object__find_program_by_name(o->obj, prog.c_str());
  if (!p) return Errno(info.Env(), ENOENT);
  int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return Errno(info.Env(), errno);
  bpf_link *l = bpf_program__attach_cgroup(p, fd);
  long err = libbpf_get_error(l);
  if (err) {
    close(fd);
    return Errno(info.Env(), (int)err);
  }
  o->links.push_back(l);
  o->cgroupFds.push_back(fd);
  return Napi::Number::New(info.Env(), 0);
}

void DestroyLinks(Object *o, uint32_t handle) {
  sextant::DestroyUprobeLinks(handle);
  for (bpf_link *l : o->links) bpf_link__destroy(l);
  o->links.clear();
}

// Detaches the tracepoint and cgroup programs (not the TLS uprobes, attached per file by uprobes.cc): the object, its
// maps and ring buffers stay, and AttachTracepoints / AttachCgroup attach them again. Returns how many were detached.
Napi::Value DetachPrograms(const Napi::CallbackInfo &info) {
  Object *o = get(info);
  int n = (int)o->links.size();
  for (bpf_link *l : o->links) bpf_link__destroy(l);
  o->links.clear();
  for (int fd : o->cgroupFds) close(fd);
  o->cgroupFds.clear();
  return Napi::Number::New(info.Env(), n);
}

Napi::Value MapInfo(const Napi::CallbackInfo &info) {
  Object *o = get(info);
  std::string name = info[1].As<Napi::String>();
  bpf_map *m = bpf_object__find_map_by_name(o->obj, name.c_str());
  if (!m) return Errno(info.Env(), ENOENT);
  Napi::Object r = Napi::Object::New(info.Env());
  r.Set("fd", bpf_map__fd(m));
  r.Set("keySize", bpf_map__key_size(m));
  r.Set("valueSize", bpf_map__value_size(m));
  r.Set("type", (int)bpf_map__type(m));
  r.Set("maxEntries", bpf_map__max_entries(m));
  return r;
}

Napi::Value NumPossibleCpus(const Napi::CallbackInfo &info) {
  return Napi::Number::New(info.Env(), libbpf_num_possible_cpus());
}

// btfHasTypes(names, kind): whether the kernel's BTF (libbpf's vmlinux BTF: /sys/kernel/btf/vmlinux) has a type
// of BTF kind `kind` (BTF_KIND_*) by each of the names, as an array of booleans; -errno when it has no BTF. The
// BTF is parsed once per call in native memory and freed before returning. Type id 0 (void) never counts: libbpf
// answers 0 for "void" and for BTF_KIND_UNKN whatever the name.
Napi::Value BtfHasTypes(const Napi::CallbackInfo &info) {
  Napi::Array names = info[0].As<Napi::Array>();
  uint32_t kind = info[1].As<Napi::Number>().Uint32Value();
  std::vector<std::string> wanted;
  for (uint32_t i = 0; i < names.Length(); i++) wanted.push_back(names.Get(i).As<Napi::String>());
  btf *vmlinux = btf__load_vmlinux_btf();
  long err = libbpf_get_error(vmlinux);
  if (err) return Errno(info.Env(), (int)err);
  Napi::Array out = Napi::Array::New(info.Env(), wanted.size());
  for (uint32_t i = 0; i < wanted.size(); i++)
    out.Set(i, Napi::Boolean::New(info.Env(), btf__find_by_name_kind(vmlinux, wanted[i].c_str(), kind) > 0));
  btf__free(vmlinux);
  return out;
}

// Map operations on a raw fd; valueSize must already account for per-CPU values.
Napi::Value MapLookup(const Napi::CallbackInfo &info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  auto key = info[1].As<Napi::Buffer<uint8_t>>();
  uint32_t vsize = info[2].As<Napi::Number>().Uint32Value();
  bool del = info.Length() > 3 && info[3].As<Napi::Boolean>().Value();
  auto out = Napi::Buffer<uint8_t>::New(info.Env(), vsize);
  int r = del ? bpf_map_lookup_and_delete_elem(fd, key.Data(), out.Data()) : bpf_map_lookup_elem(fd, key.Data(), out.Data());
  if (r) return errno == ENOENT ? info.Env().Null() : Errno(info.Env(), errno);
  return out;
}

Napi::Value MapNextKey(const Napi::CallbackInfo &info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  uint32_t ksize = info[2].As<Napi::Number>().Uint32Value();
  auto out = Napi::Buffer<uint8_t>::New(info.Env(), ksize);
  const void *prev = info[1].IsNull() ? nullptr : info[1].As<Napi::Buffer<uint8_t>>().Data();
  if (bpf_map_get_next_key(fd, prev, out.Data())) return errno == ENOENT ? info.Env().Null() : Errno(info.Env(), errno);
  return out;
}

Napi::Value MapUpdate(const Napi::CallbackInfo &info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  auto key = info[1].As<Napi::Buffer<uint8_t>>();
  auto value = info[2].As<Napi::Buffer<uint8_t>>();
  uint64_t flags = info.Length() > 3 ? info[3].As<Napi::Number>().Int64Value() : BPF_ANY;
  return Napi::Number::New(info.Env(), bpf_map_update_elem(fd, key.Data(), value.Data(), flags) ? -errno : 0);
}

Napi::Value MapDelete(const Napi::CallbackInfo &info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  auto key = info[1].As<Napi::Buffer<uint8_t>>();
  return Napi::Number::New(info.Env(), bpf_map_delete_elem(fd, key.Data()) ? -errno : 0);
}

Napi::Value RingbufStart(const Napi::CallbackInfo &info) {
  Object *o = get(info);
  return sextant::StartRingPoller(info, o->obj, o->pollers);
}

Napi::Value RingbufStats(const Napi::CallbackInfo &info) { return sextant::RingPollerStats(info, get(info)->pollers); }

// Before load: whether a program is loaded (and so attached) at all, e.g. to turn L7 capture off.
// A map's size, before load (ring buffers: bytes, a power of two multiple of the page size).
Napi::Value SetMaxEntries(const Napi::CallbackInfo &info) {
  Object *o = get(info);
  std::string name = info[1].As<Napi::String>();
  uint32_t n = info[2].As<Napi::Number>().Uint32Value();
  bpf_map *m = bpf_object__find_map_by_name(o->obj, name.c_str());
  if (!m) return Errno(info.Env(), ENOENT);
  int err = bpf_map__set_max_entries(m, n);
  return Napi::Number::New(info.Env(), err < 0 ? err : 0);
}

Napi::Value SetAutoload(const Napi::CallbackInfo &info) {
  Object *o = get(info);
  std::string prog = info[1].As<Napi::String>();
  bool on = info[2].As<Napi::Boolean>().Value();
  bpf_program *p = bpf_object__find_program_by_name(o->obj, prog.c_str());
  if (!p) return Errno(info.Env(), ENOENT);
  return Napi::Number::New(info.Env(), bpf_program__set_autoload(p, on));
}

// Names of the object's programs (to pick which to autoload).
Napi::Value ProgramNames(const Napi::CallbackInfo &info) {
  Object *o = get(info);
  Napi::Array out = Napi::Array::New(info.Env());
  bpf_program *p;
  uint32_t i = 0;
  bpf_object__for_each_program(p, o->obj) out.Set(i++, Napi::String::New(info.Env(), bpf_program__name(p)));
  return out;
}

Napi::Value Close(const Napi::CallbackInfo &info) {
  uint32_t h = info[0].As<Napi::Number>().Uint32Value();
  if (h >= objects.size() || !objects[h]) return Napi::Number::New(info.Env(), 0);
  Object *o = objects[h].get();
  sextant::StopRingPollers(o->pollers);
  DestroyLinks(o, h);
  for (int fd : o->cgroupFds) close(fd);
  bpf_object__close(o->obj);
  objects[h].reset();
  return Napi::Number::New(info.Env(), 0);
}

void Cleanup(void *) {
  for (uint32_t h = 0; h < objects.size(); h++) {
    auto &o = objects[h];
    if (!o) continue;
    sextant::StopRingPollers(o->pollers);
    DestroyLinks(o.get(), h);
    for (int fd : o->cgroupFds) close(fd);
    bpf_object__close(o->obj);
    o.reset();
  }
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
  napi_add_env_cleanup_hook(env, Cleanup, nullptr);
  exports.Set("open", Napi::Function::New(env, Open));
  exports.Set("setGlobal", Napi::Function::New(env, SetGlobal));
  exports.Set("setMaxEntries", Napi::Function::New(env, SetMaxEntries));
  exports.Set("load", Napi::Function::New(env, Load));
  exports.Set("attachTracepoints", Napi::Function::New(env, AttachTracepoints));
  exports.Set("attachCgroup", Napi::Function::New(env, AttachCgroup));
  exports.Set("detachPrograms", Napi::Function::New(env, DetachPrograms));
  sextant::RegisterUprobes(env, exports);
  exports.Set("runProgram", Napi::Function::New(env, RunProgram));
  exports.Set("mapInfo", Napi::Function::New(env, MapInfo));
  exports.Set("numPossibleCpus", Napi::Function::New(env, NumPossibleCpus));
  exports.Set("btfHasTypes", Napi::Function::New(env, BtfHasTypes));
  exports.Set("mapLookup", Napi::Function::New(env, MapLookup));
  exports.Set("mapNextKey", Napi::Function::New(env, MapNextKey));
  exports.Set("mapUpdate", Napi::Function::New(env, MapUpdate));
  exports.Set("mapDelete", Napi::Function::New(env, MapDelete));
  exports.Set("ringbufStart", Napi::Function::New(env, RingbufStart));
  exports.Set("ringbufStats", Napi::Function::New(env, RingbufStats));
  exports.Set("setAutoload", Napi::Function::New(env, SetAutoload));
  exports.Set("programNames", Napi::Function::New(env, ProgramNames));
  exports.Set("close", Napi::Function::New(env, Close));
  return exports;
}

}  // namespace

namespace sextant {
bpf_object *ObjectOf(const Napi::CallbackInfo &info, size_t i) { return get(info, i)->obj; }
Napi::Value ErrnoValue(Napi::Env env, int err) { return Errno(env, err); }
}  // namespace sextant

NODE_API_MODULE(sextant_bpf, Init)

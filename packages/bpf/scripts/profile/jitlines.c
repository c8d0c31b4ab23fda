// SPDX-License-Identifier: GPL-2.0
/* jitlines <prog id>: one line per line-info entry of a loaded BPF program, "jited address<TAB>file:line",
 * from BPF_OBJ_GET_INFO_BY_FD (jited_line_info pairs with line_info). Used by hot-lines.sh to attribute perf samples
 * in JITed programs to source lines where bpftool and perf cannot disassemble (no libbfd / libopcodes). */
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: jitlines <prog id>\n");
		return 2;
	}
	int fd = bpf_prog_get_fd_by_id(atoi(argv[1]));
	if (fd < 0) {
		perror("bpf_prog_get_fd_by_id");
		return 1;
	}
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		perror("bpf_obj_get_info_by_fd");
		return 1;
	}
	__u32 nl = info.nr_line_info, njl = info.nr_jited_line_info, rec = info.line_info_rec_size;
	void *li = calloc(nl ? nl : 1, rec ? rec : 1);
	__u64 *jl = calloc(njl ? njl : 1, sizeof(__u64));
	struct bpf_prog_info want = {};
	want.nr_line_info = nl;
	want.line_info_rec_size = rec;
	want.line_info = (__u64)(unsigned long)li;
	want.nr_jited_line_info = njl;
	want.jited_line_info_rec_size = sizeof(__u64);
	want.jited_line_info = (__u64)(unsigned long)jl;
	len = sizeof(want);
	if (bpf_obj_get_info_by_fd(fd, &want, &len)) {
		perror("bpf_obj_get_info_by_fd (line info)");
		return 1;
	}
	struct btf *btf = btf__load_from_kernel_by_id(info.btf_id);
	for (__u32 i = 0; i < nl && i < njl; i++) {
		const struct bpf_line_info *l = (const struct bpf_line_info *)((const char *)li + (size_t)i * rec);
		const char *file = btf ? btf__name_by_offset(btf, l->file_name_off) : NULL;
		const char *base = file ? strrchr(file, '/') : NULL;
		printf("%llx\t%s:%u\n", (unsigned long long)jl[i], base ? base + 1 : (file ? file : "?"), BPF_LINE_INFO_LINE_NUM(l->line_col));
	}
	return 0;
}

/* A socket filter in the classic style: legacy packet loads (ld_abs,
 * ld_ind: big-endian, relative to the network header, a load past the end
 * ends the program with 0), as tcpdump-like filters compile. Keeps IPv4
 * UDP/TCP packets to ports below 1024 (returns the bytes to keep). */
#include "pkt.h"

unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");
unsigned long long load_half(void *skb, unsigned long long off) asm("llvm.bpf.load.half");
unsigned long long load_word(void *skb, unsigned long long off) asm("llvm.bpf.load.word");

SEC("socket") int socket_ldabs(struct __sk_buff *skb)
{
    if (skb->protocol != bpf_htons(ETH_P_IP))
        return 0;
    __u64 vihl = load_byte(skb, 0);
    __u64 proto = load_byte(skb, 9);
    if (proto != IPPROTO_UDP && proto != IPPROTO_TCP)
        return 1;
    __u64 hl = (vihl & 15) * 4;
    __u64 dport = load_half(skb, hl + 2);
    __u64 saddr = load_word(skb, 12);
    skb->cb[0] = (__u32)saddr;
    return dport < 1024 ? 0xffff : (__u32)(dport ^ (saddr & 0xff));
}

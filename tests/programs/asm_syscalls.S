/* asm_syscalls.S: a hand-written program with no C in it: raw `syscall`
 * instructions (write, getpid-free so output is deterministic, exit_group),
 * a jump table of RIP-relative 32-bit offsets, a call through a register,
 * a tail jump, and `loop`/`jrcxz`. It prints its results with write(2)
 * and exits with status 7. */
    .text
    .globl main
    .type main, @function
main:
    pushq %rbx
    pushq %r12
    pushq %r13
    xorl %ebx, %ebx            /* accumulator */
    xorl %r12d, %r12d          /* i */
1:  movl %r12d, %eax
    andl $3, %eax
    leaq table(%rip), %rdx
    movslq (%rdx,%rax,4), %rax
    addq %rdx, %rax
    jmp *%rax                  /* jump table: case i % 4 */
case0:
    addq $11, %rbx
    jmp 2f
case1:
    imulq $3, %rbx, %rbx
    jmp 2f
case2:
    xorq $0x5a5a, %rbx
    jmp 2f
case3:
    leaq mix(%rip), %rax
    movq %rbx, %rdi
    call *%rax                 /* indirect call */
    movq %rax, %rbx
2:  incl %r12d
    cmpl $100000, %r12d
    jne 1b

    /* loop / jrcxz: sum 1..1000 with the loop instruction. */
    movl $1000, %ecx
    xorl %r13d, %r13d
3:  jrcxz 4f
    addq %rcx, %r13
    loop 3b
4:
    /* Print both numbers as 16 hex digits each, one per line. */
    movq %rbx, %rdi
    call print_hex
    movq %r13, %rdi
    call print_hex
    movl $231, %eax            /* exit_group(7) */
    movl $7, %edi
    syscall
    hlt

    .type mix, @function
mix:                           /* tail-jumps into rotate */
    movq %rdi, %rax
    shrq $7, %rax
    xorq %rdi, %rax
    jmp rotate
    .size mix, .-mix

    .type rotate, @function
rotate:
    rolq $13, %rax
    ret
    .size rotate, .-rotate

    .type print_hex, @function
print_hex:                     /* write(1, hex(rdi) "\n", 17), buffer in the red zone */
    leaq -24(%rsp), %rsi
    movl $16, %ecx
5:  movq %rdi, %rax
    andl $15, %eax
    leaq digits(%rip), %rdx
    movb (%rdx,%rax), %al
    movb %al, -1(%rsi,%rcx)
    shrq $4, %rdi
    loop 5b
    movb $10, 16(%rsi)
    movl $1, %eax              /* write */
    movl $1, %edi
    movl $17, %edx
    syscall
    ret
    .size print_hex, .-print_hex

    .section .rodata
    .align 4
table:
    .long case0 - table
    .long case1 - table
    .long case2 - table
    .long case3 - table
digits:
    .ascii "0123456789abcdef"
    .section .note.GNU-stack,"",@progbits

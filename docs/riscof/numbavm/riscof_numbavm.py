"""RISCOF DUT plugin for numbavm: compiles each architecture test and runs it with
`numbavm run --signature` (docs/riscof.md).

RISCOF imports this module as ``riscof_numbavm`` from the DUTPluginPath of config.ini and makes
the class ``numbavm`` (riscof.pluginTemplate's API: __init__, initialise, build, runTests).
Options in config.ini's [numbavm] section:

    pluginpath  this directory (env/, the YAMLs), relative to config.ini      (required)
    ispec       the ISA YAML, pspec the platform YAML, relative to config.ini (required)
    PATH        the directory holding the numbavm command (default: found on $PATH)
    jobs        tests compiled and run at once (default 1)
    max_instructions  numbavm's --max-instructions per test (default 10M): a test that loops
                forever stops there, with the signature it has so far
    signature_granularity  4 (default, as RISCOF's Sail and Spike plugins write it) or 8
    target_run  0: only compile the tests
"""
import os
import re
import shutil

from riscof import utils
from riscof.pluginTemplate import pluginTemplate


def hart_isa(yaml_isa):
    """riscv-config's ISA ("RV64IMAFDCSUZicsr_Zifencei_Zba") -> numbavm's --isa ("rv64imafdc_zicsr_zifencei_zba"):
    the single letters but the privilege modes S and U (numbavm always has them), then the multi-letter
    extensions; Zicsr and Zifencei always (the tests' trap handler uses them)."""
    m = re.fullmatch(r"RV(\d+)((?:[A-Z](?![a-z]))*)(.*)", yaml_isa)
    if m is None:
        raise SystemExit(f"numbavm plugin: ISA {yaml_isa!r} is not a riscv-config ISA string")
    multi = [e.lower() for e in m.group(3).split("_") if e]
    multi += [e for e in ("zicsr", "zifencei") if e not in multi]
    return "_".join([f"rv{m.group(1)}" + m.group(2).lower().replace("s", "").replace("u", "")] + multi)


class numbavm(pluginTemplate):
    __model__ = "numbavm"
    __version__ = "0.1"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        config = kwargs.get("config")
        if config is None:
            raise SystemExit("numbavm plugin: config.ini has no [numbavm] section "
                             "(pluginpath, ispec, pspec)")
        # relative paths are relative to config.ini (as RISCOF's own DUTPluginPath is)
        here = kwargs.get("config_dir", os.getcwd())
        self.pluginpath = os.path.abspath(os.path.join(here, config["pluginpath"]))
        self.isa_spec = os.path.abspath(os.path.join(here, config["ispec"]))
        self.platform_spec = os.path.abspath(os.path.join(here, config["pspec"]))
        self.numbavm = os.path.join(config.get("PATH", ""), "numbavm")
        self.num_jobs = str(config.get("jobs", 1))
        self.max_instructions = config.get("max_instructions", "10M")
        self.granularity = config.get("signature_granularity", "4")
        self.target_run = config.get("target_run", "1") != "0"

    def initialise(self, suite, work_dir, archtest_env):
        self.work_dir = work_dir
        self.suite_dir = suite
        # {0} -march, {1} XLEN, {2} the test's macros, {3} the test, {4} the ELF
        self.compile_cmd = ("riscv{1}-unknown-elf-gcc -march={0} -static -mcmodel=medany "
                            "-fvisibility=hidden -nostdlib -nostartfiles -g "
                            f"-T {self.pluginpath}/env/link.ld -I {self.pluginpath}/env/ "
                            f"-I {archtest_env} {{2}} -o {{4}} {{3}}")

    def build(self, isa_yaml, platform_yaml):
        ispec = utils.load_yaml(isa_yaml)["hart0"]
        self.xlen = "64" if 64 in ispec["supported_xlen"] else "32"
        self.compile_cmd += " -mabi=" + ("lp64 " if self.xlen == "64" else "ilp32 ")
        # numbavm's hart has exactly the extensions the ISA YAML names (numbavm run --isa)
        self.isa = hart_isa(ispec["ISA"])
        tools = [f"riscv{self.xlen}-unknown-elf-gcc"] + ([self.numbavm] if self.target_run else [])
        for tool in tools:
            if shutil.which(tool) is None:
                raise SystemExit(f"numbavm plugin: {tool}: not found")

    def runTests(self, testList):
        makefile = os.path.join(self.work_dir, "Makefile." + self.name[:-1])
        if os.path.exists(makefile):
            os.remove(makefile)
        make = utils.makeUtil(makefilePath=makefile)
        make.makeCommand = "make -k -j" + self.num_jobs
        for entry in testList.values():
            # GCC 12 and later take the CSR and fence.i instructions (which the tests' trap
            # handler uses) only with Zicsr and Zifencei named
            march = entry["isa"].lower()
            for ext in ("zicsr", "zifencei"):
                if ext not in march:
                    march += "_" + ext
            compile_cmd = self.compile_cmd.format(
                march, self.xlen, " -D" + " -D".join(entry["macros"]), entry["test_path"], "my.elf")
            # RISCOF reads the signature from <work_dir>/DUT-numbavm.signature
            sig_file = os.path.join(entry["work_dir"], self.name[:-1] + ".signature")
            if self.target_run:
                # the exit status is not looked at: the signature is written however the test
                # ends (numbavm run --help), and RISCOF compares it with the reference model's
                run_cmd = (f"{self.numbavm} run my.elf --isa {self.isa} --signature {sig_file} "
                           f"--signature-granularity {self.granularity} "
                           f"--max-instructions {self.max_instructions} > numbavm.log 2>&1 || true")
            else:
                run_cmd = 'echo "NO RUN"'
            make.add_target(f"@cd {entry['work_dir']}; {compile_cmd}; {run_cmd};")
        make.execute_all(self.work_dir)
        if not self.target_run:
            raise SystemExit(0)

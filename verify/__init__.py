"""lengthgen-verify: executable checks of Huang et al., "A Formal Framework for Understanding
Length Generalization in Transformers" (ICLR 2025)."""

__version__ = "0.1.0"

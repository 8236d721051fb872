"""Subsidy rules, district targets and claim forms of the Datong big-data training policy (2022-2024).

Pure code: amounts in integer fen, shares as exact fractions, no I/O. The service layer turns
verified presence, inspection decisions and employment / certificate records into the inputs here.
"""

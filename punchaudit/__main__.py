from punchaudit.cli import main

main()
